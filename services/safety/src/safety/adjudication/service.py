"""DLT rule sets per trial, assessment of each AE version, and signed adjudication.

PROTOCOL.md: the software flags *suspected* DLTs; a safety physician confirms or rules them out
with a signature, and every confirmation is an event. An AE edited after adjudication reopens it:
the signature is voided (21 CFR 11.70 binds it to the signed version) and the rules run again.

Adjudication judges adverse events without reading them: `safety.adverse_events` hands it the
facts of the version to judge (`VersionFacts`) and stores the evaluation it returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox, pagination, signatures
from doseline.auth import Principal
from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.errors import Conflict, NotFound
from safety.adjudication import evaluation, repository
from safety.adjudication.models import (
    DltAssessmentRow,
    DltCaseRow,
    DltSignatureRow,
)
from safety.adjudication.schemas import DltOut
from safety.catalogue import service as catalogue
from safety.problems import DLT_NOT_FOUND, DLT_NOT_SUSPECTED, DLT_STALE
from safety.protocols import repository as protocols_repository
from safety.protocols import service as protocols
from safety.subjects import repository as subjects_repository
from safety.subjects.models import SubjectRow

Decision = Literal["confirm", "rule_out"]

# 21 CFR 11.50(b): the meaning of each signature, shown wherever the signature is shown.
MEANINGS: dict[Decision, str] = {
    "confirm": "I confirm this event is a dose-limiting toxicity",
    "rule_out": "I confirm this event is not a dose-limiting toxicity",
}


@dataclass(frozen=True)
class VersionFacts:
    """One version of an adverse event, as the DLT rules judge it and a signature covers it."""

    ae_id: uuid.UUID
    trial_id: str
    subject_id: str
    number: int
    ctcae_version: str
    term_code: str
    term_name: str
    grade: int
    attribution: str
    onset_date: date
    record_sha256: str


# ---------------------------------------------------------------------------- assessment


def assess(
    session: Session,
    version: VersionFacts,
    subject: SubjectRow,
    *,
    actor: str,
    new_event: bool = False,
) -> str:
    """Apply the DLT rules in force at the AE's onset; raise, reopen or withdraw a DLT case.

    Returns the AE's DLT evaluation, for the adverse event to store. `new_event`: the AE is
    being reported in this transaction, so no DLT case can exist for it yet (none is read)."""
    if subject.first_infusion_on is None or subject.dlt_window_end is None:
        # Enrollment's infusion event has not arrived: keep the AE, assess when it does.
        return "awaiting_dlt_window"
    protocol = protocols.rules_in_force(session, version.trial_id, version.onset_date)
    if protocol is None:
        # Enrollment's protocol event has not arrived: safety has no DLT rules of its own.
        return "awaiting_protocol"
    verdict = _verdict(session, protocol, version, subject)
    now = datetime.now(UTC)
    assessment = DltAssessmentRow(
        id=uuid.uuid4(),
        ae_id=version.ae_id,
        ae_version=version.number,
        protocol_sequence=protocol.sequence,
        protocol_version=protocol.protocol_version,
        protocol_hash=protocol.content_hash,
        is_suspected_dlt=verdict.is_suspected_dlt,
        study_day=verdict.study_day,
        matched_rules=list(verdict.matched_rules),
        reasons=list(verdict.reasons),
        assessed_at=now,
    )
    session.add(assessment)
    session.flush()
    existing = None if new_event else repository.case_of_ae(session, version.ae_id, lock=True)
    if verdict.is_suspected_dlt:
        _suspect(session, version, protocol, verdict, existing, actor=actor, now=now)
    elif existing is not None and existing.status in {"suspected", "confirmed", "ruled_out"}:
        _withdraw(session, version, existing, actor=actor, now=now)
    return "suspected_dlt" if verdict.is_suspected_dlt else "not_dlt"


def assessments(session: Session, ae_id: uuid.UUID) -> Sequence[DltAssessmentRow]:
    """Every application of the DLT rules to one adverse event, oldest first."""
    return repository.assessments(session, ae_id)


def _verdict(
    session: Session,
    protocol: protocols.RulesInForce,
    version: VersionFacts,
    subject: SubjectRow,
) -> evaluation.Verdict:
    term = catalogue.require_term(session, version.ctcae_version, version.term_code)
    return evaluation.evaluate(
        protocol,
        term=catalogue.as_term(term),
        grade=version.grade,
        attribution=version.attribution,
        onset_date=version.onset_date,
        ctcae_version=version.ctcae_version,
        subject=subject,
    )


ADJUDICATED = frozenset({"confirmed", "ruled_out"})


@dataclass(frozen=True)
class AmendmentVerdict:
    """What a newly arrived protocol version did to one adverse event."""

    dlt_evaluation: str | None  # set when the AE was re-assessed: its new DLT evaluation
    listed_for_review: bool = False


def apply_protocol_version(
    session: Session, version: VersionFacts, subject: SubjectRow, *, sequence: int, actor: str
) -> AmendmentVerdict:
    """Judge one AE by the protocol version `sequence` (activated just now), if it governs it.

    An open AE (no DLT case, or a suspected one) is re-assessed, which may raise, update or
    withdraw a suspicion. An adjudicated (signed) DLT is never changed by an amendment: when
    the new rules would give another verdict, it is listed for a safety physician's review."""
    governing = protocols.rules_in_force(session, version.trial_id, version.onset_date)
    if governing is None or governing.sequence != sequence:
        return AmendmentVerdict(dlt_evaluation=None)
    case = repository.case_of_ae(session, version.ae_id, lock=True)
    if case is None or case.status not in ADJUDICATED or case.ae_version != version.number:
        return AmendmentVerdict(dlt_evaluation=assess(session, version, subject, actor=actor))
    if case.protocol_sequence == sequence or subject.first_infusion_on is None:
        return AmendmentVerdict(dlt_evaluation=None)
    verdict = _verdict(session, governing, version, subject)
    if verdict.is_suspected_dlt and set(verdict.matched_rules) == set(case.matched_rules):
        return AmendmentVerdict(dlt_evaluation=None)
    _list_for_review(session, case, version, governing, verdict, actor=actor)
    return AmendmentVerdict(dlt_evaluation=None, listed_for_review=True)


def _list_for_review(
    session: Session,
    case: DltCaseRow,
    version: VersionFacts,
    governing: protocols.RulesInForce,
    verdict: evaluation.Verdict,
    *,
    actor: str,
) -> None:
    protocols_repository.add_review(
        session,
        {
            "id": uuid.uuid4(),
            "dlt_id": case.id,
            "trial_id": case.trial_id,
            "subject_id": case.subject_id,
            "ae_id": version.ae_id,
            "ae_version": version.number,
            "adjudication": case.status,
            "adjudicated_under_version": case.protocol_version,
            "adjudicated_matched_rules": list(case.matched_rules),
            "protocol_sequence": governing.sequence,
            "protocol_version": governing.protocol_version,
            "protocol_hash": governing.content_hash,
            "would_be_suspected": verdict.is_suspected_dlt,
            "would_match_rules": list(verdict.matched_rules),
            "reasons": list(verdict.reasons),
            "status": "open",
            "created_at": datetime.now(UTC),
        },
    )
    audit.record(
        session,
        actor=actor,
        action="dlt.review_requested",
        entity_type="dlt",
        entity_id=str(case.id),
        after={
            "adjudication": case.status,
            "protocol_version": governing.protocol_version,
            "would_be_suspected": verdict.is_suspected_dlt,
            "would_match_rules": list(verdict.matched_rules),
        },
        reason="the amended DLT rules give another verdict; the signed adjudication stands",
    )


def _suspect(
    session: Session,
    version: VersionFacts,
    protocol: protocols.RulesInForce,
    verdict: evaluation.Verdict,
    existing: DltCaseRow | None,
    *,
    actor: str,
    now: datetime,
) -> None:
    study_day = verdict.study_day if verdict.study_day is not None else 0
    if existing is None:
        case = DltCaseRow(
            id=uuid.uuid4(),
            ae_id=version.ae_id,
            trial_id=version.trial_id,
            subject_id=version.subject_id,
            status="suspected",
            ae_version=version.number,
            protocol_sequence=protocol.sequence,
            protocol_version=protocol.protocol_version,
            protocol_hash=protocol.content_hash,
            matched_rules=list(verdict.matched_rules),
            study_day=study_day,
            baseline_grade=verdict.baseline_grade,
            adjudication_sequence=1,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dlt.suspected",
            entity_type="dlt",
            entity_id=str(case.id),
            after=case_snapshot(case),
        )
        _publish(session, DltSuspected, case, version)
        return
    if existing.ae_version == version.number and existing.status in {"confirmed", "ruled_out"}:
        # The same version assessed again (a new window or baseline that does not change the
        # verdict): the signature on that version stays valid.
        return
    facts = (protocol.sequence, list(verdict.matched_rules), study_day, verdict.baseline_grade)
    if (
        existing.ae_version == version.number
        and existing.status == "suspected"
        and facts
        == (
            existing.protocol_sequence,
            list(existing.matched_rules),
            existing.study_day,
            existing.baseline_grade,
        )
    ):
        return
    before = case_snapshot(existing)
    if existing.status in {"confirmed", "ruled_out"}:
        repository.void_signatures(
            session, existing.id, at=now, reason=f"adverse event changed (version {version.number})"
        )
    existing.status = "suspected"
    existing.ae_version = version.number
    existing.protocol_sequence = protocol.sequence
    existing.protocol_version = protocol.protocol_version
    existing.protocol_hash = protocol.content_hash
    existing.matched_rules = list(verdict.matched_rules)
    existing.study_day = study_day
    existing.baseline_grade = verdict.baseline_grade
    existing.adjudication_sequence += 1
    existing.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt.reopened",
        entity_type="dlt",
        entity_id=str(existing.id),
        before=before,
        after=case_snapshot(existing),
        reason=f"adverse event version {version.number} meets the DLT rules (reassessed)",
    )
    _publish(session, DltSuspected, existing, version)


def _withdraw(
    session: Session,
    version: VersionFacts,
    case: DltCaseRow,
    *,
    actor: str,
    now: datetime,
) -> None:
    """The AE no longer meets the rules: a confirmed or suspected DLT is withdrawn."""
    before = case_snapshot(case)
    was = case.status
    repository.void_signatures(
        session, case.id, at=now, reason=f"adverse event changed (version {version.number})"
    )
    case.status = "withdrawn"
    case.ae_version = version.number
    case.adjudication_sequence += 1
    case.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt.withdrawn",
        entity_type="dlt",
        entity_id=str(case.id),
        before=before,
        after=case_snapshot(case),
        reason=f"adverse event version {version.number} no longer meets the DLT rules",
    )
    if was in {"confirmed", "suspected"}:
        _publish(session, DltRuledOut, case, version, adjudicated_at=now, signature_hash=None)


# ---------------------------------------------------------------------------- adjudication


def adjudicate(
    session: Session,
    case: DltCaseRow,
    *,
    current_version: Callable[[uuid.UUID], VersionFacts],
    decision: Decision,
    principal: Principal,
    comment: str | None,
    now: datetime,
) -> DltSignatureRow:
    """A safety physician's signed decision on a suspected DLT (21 CFR 11.50, 11.70, 11.200).

    `current_version(ae_id)` locks the adverse event and gives its current version: the
    signature covers that version's content (`record_sha256`)."""
    signatures.require_fresh_authentication(principal, now=now)
    if case.status != "suspected":
        raise Conflict(
            f"this DLT is {case.status.replace('_', ' ')}; only a suspected DLT can be adjudicated",
            problem=DLT_NOT_SUSPECTED,
            extra={"dlt_status": case.status},
        )
    version = current_version(case.ae_id)
    if version.number != case.ae_version:  # pragma: no cover - edits reassess first
        raise Conflict("the adverse event changed; read the DLT again", problem=DLT_STALE)
    record_hash = version.record_sha256
    signature = DltSignatureRow(
        id=uuid.uuid4(),
        dlt_id=case.id,
        ae_id=version.ae_id,
        ae_version=version.number,
        decision=decision,
        meaning=MEANINGS[decision],
        signer_subject=principal.subject,
        signer_name=principal.name,
        signed_at=now,
        record_sha256=record_hash,
        comment=comment,
    )
    session.add(signature)
    before = case_snapshot(case)
    case.status = "confirmed" if decision == "confirm" else "ruled_out"
    case.adjudication_sequence += 1
    case.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action=f"dlt.{case.status}",
        entity_type="dlt",
        entity_id=str(case.id),
        before=before,
        after={**case_snapshot(case), "signature": signature_snapshot(signature)},
        reason=comment,
    )
    contract = DltConfirmed if decision == "confirm" else DltRuledOut
    _publish(session, contract, case, version, adjudicated_at=now, signature_hash=record_hash)
    return signature


CASE_ORDER = pagination.Keyset(created_at=datetime, id=uuid.UUID)


def case_page(
    session: Session,
    *,
    trial_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
    principal: Principal,
) -> pagination.Page[DltOut]:
    """A page of cases in the order they were opened, with their signatures read at once.

    The key never changes: a case adjudicated, withdrawn or re-suspected between two page reads
    keeps its place, so a client paging through sees every case once, in its current state."""
    rows = repository.cases(
        session,
        trial_id=trial_id,
        status=status,
        after=CASE_ORDER.read(cursor),
        limit=limit + 1,
        principal=principal,
    )
    page = CASE_ORDER.page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    signed = repository.signatures_of(session, [row.id for row in page.items])
    return page.shown_as(lambda row: DltOut.of(row, signed.get(row.id, [])))


def signatures_of(session: Session, case: DltCaseRow) -> list[DltSignatureRow]:
    return list(repository.signatures(session, case.id))


def require_case(session: Session, dlt_id: uuid.UUID, *, lock: bool = False) -> DltCaseRow:
    row = repository.case(session, dlt_id, lock=lock)
    if row is None:
        raise NotFound(f"no DLT {dlt_id}", problem=DLT_NOT_FOUND)
    return row


def case_snapshot(case: DltCaseRow) -> dict[str, Any]:
    return {
        "dlt_id": str(case.id),
        "ae_id": str(case.ae_id),
        "status": case.status,
        "ae_version": case.ae_version,
        "protocol_version": case.protocol_version,
        "protocol_hash": case.protocol_hash,
        "matched_rules": list(case.matched_rules),
        "study_day": case.study_day,
        "baseline_grade": case.baseline_grade,
        "adjudication_sequence": case.adjudication_sequence,
    }


def signature_snapshot(signature: DltSignatureRow) -> dict[str, Any]:
    return {
        "signer": signature.signer_subject,
        "signer_name": signature.signer_name,
        "meaning": signature.meaning,
        "signed_at": signature.signed_at,
        "ae_version": signature.ae_version,
        "record_sha256": signature.record_sha256,
    }


def _publish(
    session: Session,
    contract: type[DltSuspected] | type[DltConfirmed] | type[DltRuledOut],
    case: DltCaseRow,
    version: VersionFacts,
    **extra: Any,
) -> None:
    facts: dict[str, Any] = {
        "trial_id": case.trial_id,
        "subject_id": case.subject_id,
        "site_id": subjects_repository.site_of_subject(session, case.subject_id),
        "dlt_id": str(case.id),
        "ae_id": str(case.ae_id),
        "ae_version": version.number,
        "term_code": version.term_code,
        "term": version.term_name,
        "grade": version.grade,
        "baseline_grade": case.baseline_grade,
        "attribution": version.attribution,
        "study_day": case.study_day,
        "rules": list(case.matched_rules),
        "protocol_version": case.protocol_version,
        "protocol_hash": case.protocol_hash,
        "adjudication_sequence": case.adjudication_sequence,
    }
    outbox.record_event(session, contract(**facts, **extra), subject=f"subjects/{case.subject_id}")
