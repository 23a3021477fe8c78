"""Proposed adverse events from graded lab results: proposed, updated by a corrected result,
withdrawn, then accepted (reported as an AE, the proposed grade kept beside) or rejected."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.orm import Session

from doseline import audit
from doseline.contracts.safety import AdverseEventProposed
from doseline.errors import Conflict, InvalidInput
from safety.adverse_events import service as adverse_events
from safety.adverse_events.schemas import AdverseEventContent, AdverseEventIn
from safety.catalogue.models import CtcaeTermRow
from safety.ehr import lab_grading
from safety.ehr.models import ProposedAdverseEventRow
from safety.ehr.reading import LabResult
from safety.ehr.schemas import AcceptanceIn
from safety.ehr.staging import AuditNote
from safety.problems import PROPOSAL_NOT_OPEN
from safety.subjects.models import SubjectRow

CTCAE_VERSION: Final = "5.0"


def propose(
    subject: SubjectRow,
    result: LabResult,
    verdict: lab_grading.LabVerdict,
    onset: date,
    term: CtcaeTermRow,
    *,
    source: str,
    actor: str,
    now: datetime,
) -> tuple[ProposedAdverseEventRow, AuditNote]:
    """A new proposal, not yet stored (the intake stores a request's proposals together), and its
    audit entry."""
    proposal = ProposedAdverseEventRow(
        id=uuid.uuid4(),
        source=source,
        observation_id=result.observation_id,
        observation_version_id=result.version_id,
        trial_id=subject.trial_id,
        subject_id=subject.subject_id,
        ctcae_version=CTCAE_VERSION,
        term_code=term.meddra_code,
        term_name=term.name,
        proposed_grade=verdict.grade or 0,
        grading_reason=verdict.reason,
        grading_basis=verdict.basis,
        onset_date=onset,
        status="proposed",
        ae_id=None,
        decided_by=None,
        decided_at=None,
        decision_reason=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
    entry = AuditNote(
        actor=actor,
        action="proposed_ae.create",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        after=proposal_snapshot(proposal),
    )
    return proposal, entry


def announcement(
    proposal: ProposedAdverseEventRow,
    subject: SubjectRow,
    *,
    loinc: str,
    value: Decimal,
    unit: str,
) -> tuple[AdverseEventProposed, str]:
    """The event announcing a new proposal (written with it), and its CloudEvents subject."""
    event = AdverseEventProposed(
        trial_id=proposal.trial_id,
        subject_id=proposal.subject_id,
        site_id=subject.site_id,
        proposal_id=str(proposal.id),
        observation_id=proposal.observation_id,
        observation_version_id=proposal.observation_version_id,
        loinc=loinc,
        value=str(value),
        unit=unit,
        ctcae_version=proposal.ctcae_version,
        term_code=proposal.term_code,
        term=proposal.term_name,
        grade=proposal.proposed_grade,
        grading_reason=proposal.grading_reason,
        onset_date=proposal.onset_date,
    )
    return event, adverse_events.subject_subject_uri(proposal.subject_id)


def update(
    proposal: ProposedAdverseEventRow,
    result: LabResult,
    verdict: lab_grading.LabVerdict,
    onset: date,
    term: CtcaeTermRow,
    *,
    actor: str,
    now: datetime,
) -> AuditNote:
    """Regrade a proposal from a corrected result (the change is flushed with the request's
    other writes); its audit entry."""
    before = proposal_snapshot(proposal)
    proposal.observation_version_id = result.version_id
    proposal.term_code = term.meddra_code
    proposal.term_name = term.name
    proposal.proposed_grade = verdict.grade or 0
    proposal.grading_reason = verdict.reason
    proposal.grading_basis = verdict.basis
    proposal.onset_date = onset
    # A decided proposal goes back to the investigator: the result it was decided on changed.
    proposal.status = "proposed"
    proposal.decided_at = None
    proposal.decided_by = None
    proposal.decision_reason = None
    proposal.updated_at = now
    return AuditNote(
        actor=actor,
        action="proposed_ae.update",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=f"laboratory result {result.status} (version {result.version_id})",
    )


def withdraw(
    proposal: ProposedAdverseEventRow,
    result: LabResult,
    *,
    actor: str,
    now: datetime,
    why: str,
) -> AuditNote:
    before = proposal_snapshot(proposal)
    proposal.status = "withdrawn"
    proposal.observation_version_id = result.version_id
    proposal.updated_at = now
    return AuditNote(
        actor=actor,
        action="proposed_ae.withdraw",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=why,
    )


def accept(
    session: Session,
    proposal: ProposedAdverseEventRow,
    body: AcceptanceIn,
    *,
    actor: str,
    now: datetime,
) -> uuid.UUID:
    """Accepting reports the AE (or follows it up), the proposed grade stored beside."""
    if proposal.status != "proposed":
        raise Conflict(
            f"this proposal is {proposal.status}; only an open proposal can be accepted",
            problem=PROPOSAL_NOT_OPEN,
        )
    try:
        ae_id = _report_or_follow_up(session, proposal, body, actor=actor, now=now)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at(["body", *[str(p) for p in first["loc"]]], first["msg"]) from None
    before = proposal_snapshot(proposal)
    proposal.status = "accepted"
    proposal.ae_id = ae_id
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.accept",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
    )
    return ae_id


def _report_or_follow_up(
    session: Session,
    proposal: ProposedAdverseEventRow,
    body: AcceptanceIn,
    *,
    actor: str,
    now: datetime,
) -> uuid.UUID:
    """The adverse event reported from the proposal, or its follow-up after a correction."""
    content = _ae_content(proposal, body)
    proposed = adverse_events.ProposedGrade(
        grade=proposal.proposed_grade, reason=proposal.grading_reason, basis=proposal.grading_basis
    )
    if proposal.ae_id is None:
        ae, _ = adverse_events.report(
            session,
            AdverseEventIn(subject_id=proposal.subject_id, **content),
            actor=actor,
            source="ehr",
            now=now,
            proposed=proposed,
        )
        return ae.id
    existing = adverse_events.require_adverse_event(session, proposal.ae_id, lock=True)
    adverse_events.follow_up(
        session,
        existing,
        AdverseEventContent(**content),
        reason=f"corrected laboratory result (Observation {proposal.observation_id} "
        f"version {proposal.observation_version_id})",
        actor=actor,
        now=now,
        proposed=proposed,
    )
    return existing.id


def _ae_content(proposal: ProposedAdverseEventRow, body: AcceptanceIn) -> dict[str, Any]:
    return {
        "ctcae_version": proposal.ctcae_version,
        "term_code": proposal.term_code,
        "verbatim": body.verbatim
        or f"{proposal.term_name} (laboratory result {proposal.observation_id})",
        "onset_date": proposal.onset_date,
        "resolution_date": body.resolution_date,
        "grade": body.grade if body.grade is not None else proposal.proposed_grade,
        "seriousness": body.seriousness,
        "aware_at": body.aware_at,
        "attribution": body.attribution,
        "expected": body.expected,
        "action_taken": body.action_taken,
        "outcome": body.outcome,
    }


def reject(
    session: Session, proposal: ProposedAdverseEventRow, *, reason: str, actor: str, now: datetime
) -> None:
    if proposal.status != "proposed":
        raise Conflict(
            f"this proposal is {proposal.status}; only an open proposal can be rejected",
            problem=PROPOSAL_NOT_OPEN,
        )
    before = proposal_snapshot(proposal)
    proposal.status = "rejected"
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.decision_reason = reason
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.reject",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=reason,
    )


def proposal_snapshot(row: ProposedAdverseEventRow) -> dict[str, Any]:
    return {
        "observation_id": row.observation_id,
        "observation_version_id": row.observation_version_id,
        "subject_id": row.subject_id,
        "term_code": row.term_code,
        "proposed_grade": row.proposed_grade,
        "grading_reason": row.grading_reason,
        "onset_date": row.onset_date,
        "status": row.status,
        "ae_id": str(row.ae_id) if row.ae_id else None,
        "decided_by": row.decided_by,
        "decision_reason": row.decision_reason,
    }
