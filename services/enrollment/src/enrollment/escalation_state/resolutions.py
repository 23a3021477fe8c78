"""Resolving a DLT confirmed after a signed decision (ADR 0017).

One signer proposes the resolution, signing it; the other signs it too, and it takes effect:
audited, published as `enrollment.escalation.late_dlt_resolved`, and the state recomputed on
the history it declares. Signed exactly as decisions are: an investigator and a safety
physician, two people, each re-authenticated, each on the state hash they reviewed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal, Role
from doseline.contracts.enrollment import EscalationLateDltResolved
from doseline.errors import Conflict, NotFound
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.escalation_state import repository
from enrollment.escalation_state.late_dlts import LateDlt, late_dlt, pending_late_dlts
from enrollment.escalation_state.models import (
    EscalationState,
    LateDltResolution,
    LateDltResolutionSignature,
)
from enrollment.escalation_state.recompute import recompute
from enrollment.escalation_state.records import SYSTEM_ACTOR
from enrollment.escalation_state.signing import (
    SIGNING_ROLES,
    missing_roles,
    refuse_second_signature,
    require_signing_role,
)
from enrollment.problems import (
    COHORT_NOT_COMPLETE,
    COHORT_STILL_OPEN,
    ENROLMENT_CAP_REACHED,
    LATE_DLT_ALREADY_RESOLVED,
    NO_SUCH_COHORT,
    NO_SUCH_DOSE_LEVEL,
    NOTHING_TO_RESOLVE,
    RESOLUTION_NOT_PENDING,
    RESOLUTION_PENDING,
    STATE_CHANGED,
    TRIAL_COMPLETED,
)
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of

ResolutionOutcome = Literal["decision_stands", "decision_revised", "cohort_expanded"]
OUTCOMES: dict[str, ResolutionOutcome] = {
    "decision_stands": "decision_stands",
    "decision_revised": "decision_revised",
    "cohort_expanded": "cohort_expanded",
}
ResolutionStatus = Literal["pending", "resolved", "superseded"]
RESOLUTION_STATUSES: dict[str, ResolutionStatus] = {
    "pending": "pending",
    "resolved": "resolved",
    "superseded": "superseded",
}


@dataclass(frozen=True)
class RevisedDecision:
    continue_trial: bool
    next_dose: int | None
    next_cohort_size: int | None
    mtd: int | None


@dataclass(frozen=True)
class Expansion:
    cohort_number: int
    subjects: int


@dataclass(frozen=True)
class ResolutionRequest:
    dlt_id: str
    outcome: ResolutionOutcome
    reason: str
    revised: RevisedDecision | None = None
    expansion: Expansion | None = None


@dataclass(frozen=True)
class Signing:
    principal: Principal
    role: Role
    meaning: str
    state_hash: str


def propose_resolution(
    session: Session, *, trial_id: str, request: ResolutionRequest, signing: Signing, now: datetime
) -> LateDltResolution:
    """Record the resolution of a late DLT with the proposer's signature; pending until the
    other role signs it."""
    require_signing_role(signing.principal, signing.role, what="late-DLT resolutions", now=now)
    state, trial = _locked(session, trial_id)
    late = late_dlt(session, trial_id, request.dlt_id)
    if late is None:
        raise _nothing_to_resolve(session, trial_id, request.dlt_id)
    _require_state(state, signing.state_hash)
    _supersede_stale_pending(session, trial_id, request.dlt_id, state.state_hash)
    last_number = repository.cohorts_of(session, trial_id)[-1].number
    row = _resolution_row(trial_id, late, request, last_number, state.state_hash, now)
    _check_outcome(session, trial, row)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=signing.principal.audit_name,
        action="escalation.late_dlt_resolution.propose",
        entity_type="late_dlt_resolution",
        entity_id=str(row.id),
        after=_record(row),
        reason=request.reason,
    )
    _add_signature(session, row, signing, now=now)
    return row


def sign_resolution(
    session: Session, *, trial_id: str, resolution_id: uuid.UUID, signing: Signing, now: datetime
) -> LateDltResolution:
    """Add the second signature; with both, the resolution takes effect."""
    require_signing_role(signing.principal, signing.role, what="late-DLT resolutions", now=now)
    state, trial = _locked(session, trial_id)
    resolution = repository.get_resolution(session, resolution_id, for_update=True)
    if resolution is None or resolution.trial_id != trial_id:
        raise NotFound(f"trial {trial_id} has no late-DLT resolution {resolution_id}")
    if resolution.status != "pending":
        raise Conflict(
            f"this resolution is {resolution.status}; only a pending resolution can be signed",
            problem=RESOLUTION_NOT_PENDING,
            extra={"resolution_status": resolution.status},
        )
    _require_state(state, signing.state_hash, resolution.state_hash)
    if repository.cohorts_of(session, trial_id)[-1].number != resolution.last_cohort_number:
        raise Conflict(
            "a cohort opened since this resolution was proposed; propose it again on the"
            " current state",
            problem=STATE_CHANGED,
            extra={"current_state_hash": state.state_hash},
        )
    signatures = repository.resolution_signatures_of(session, resolution.id)
    refuse_second_signature(
        {s.signer for s in signatures},
        {s.role for s in signatures},
        signing.principal,
        signing.role,
        "resolution",
    )
    _add_signature(session, resolution, signing, now=now)
    if len(signatures) + 1 == len(SIGNING_ROLES):
        _check_outcome(session, trial, resolution)
        _take_effect(session, trial, resolution, now=now)
    return resolution


def _locked(session: Session, trial_id: str) -> tuple[EscalationState, Trial]:
    state = repository.lock_state(session, trial_id)
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if state is None or trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(
            f"trial {trial_id} is {trial.status}; its escalation is over", problem=TRIAL_COMPLETED
        )
    return state, trial


def _require_state(state: EscalationState, *hashes: str) -> None:
    if any(h != state.state_hash for h in hashes):
        raise Conflict(
            "the escalation state changed since you read it; review the new state and sign its"
            " hash",
            problem=STATE_CHANGED,
            extra={"current_state_hash": state.state_hash},
        )


def _nothing_to_resolve(session: Session, trial_id: str, dlt_id: str) -> Conflict:
    resolved = repository.resolution_for(session, trial_id, dlt_id, status="resolved")
    if resolved is not None:
        return Conflict(
            f"DLT {dlt_id} was resolved already (resolution {resolved.id},"
            f" {resolved.outcome.replace('_', ' ')}); a DLT is resolved once",
            problem=LATE_DLT_ALREADY_RESOLVED,
            extra={"resolution_id": str(resolved.id)},
        )
    waiting = [late.fact.dlt_id for late in pending_late_dlts(session, trial_id)]
    return Conflict(
        f"DLT {dlt_id} is not a late DLT awaiting resolution (a DLT confirmed after the"
        " decision on its cohort was signed and the next cohort opened); late DLTs to resolve:"
        f" {', '.join(waiting) if waiting else 'none'}",
        problem=NOTHING_TO_RESOLVE,
        extra={"late_dlts": waiting},
    )


def _supersede_stale_pending(session: Session, trial_id: str, dlt_id: str, state_hash: str) -> None:
    """A pending resolution of this DLT on the current state is refused as a duplicate; one
    on an older state no longer holds and gives way."""
    pending = repository.resolution_for(session, trial_id, dlt_id, status="pending")
    if pending is None:
        return
    if pending.state_hash == state_hash:
        signed = {s.role for s in repository.resolution_signatures_of(session, pending.id)}
        raise Conflict(
            f"a resolution of DLT {dlt_id} ({pending.outcome.replace('_', ' ')}) awaits the"
            f" signature of the {' and the '.join(missing_roles(signed))}: sign resolution"
            f" {pending.id} or wait for the state to change",
            problem=RESOLUTION_PENDING,
            extra={"resolution_id": str(pending.id)},
        )
    pending.status = "superseded"
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.late_dlt_resolution.supersede",
        entity_type="late_dlt_resolution",
        entity_id=str(pending.id),
        before={"status": "pending", "state_hash": pending.state_hash},
        after={"status": "superseded", "current_state_hash": state_hash},
        reason="the escalation state changed before both signatures",
    )
    session.flush()


def _resolution_row(
    trial_id: str,
    late: LateDlt,
    request: ResolutionRequest,
    last_number: int,
    state_hash: str,
    now: datetime,
) -> LateDltResolution:
    revised, expansion = request.revised, request.expansion
    return LateDltResolution(
        id=uuid.uuid4(),
        trial_id=trial_id,
        dlt_id=late.fact.dlt_id,
        subject_id=late.fact.subject_id,
        subject_cohort_number=late.cohort_number,
        decision_id=late.decision.id,
        decision_cohort_number=late.decision.cohort_number,
        last_cohort_number=last_number,
        outcome=request.outcome,
        reason=request.reason,
        continue_trial=revised.continue_trial if revised else None,
        next_dose=revised.next_dose if revised else None,
        next_cohort_size=revised.next_cohort_size if revised else None,
        mtd=revised.mtd if revised else None,
        expanded_cohort_number=expansion.cohort_number if expansion else None,
        added_subjects=expansion.subjects if expansion else None,
        state_hash=state_hash,
        status="pending",
        proposed_at=now,
    )


def _check_outcome(session: Session, trial: Trial, row: LateDltResolution) -> None:
    """409 unless what the resolution declares can be done on the trial as it is."""
    protocol = protocol_of(session, trial)
    levels = protocol.design().num_doses
    cohorts = repository.cohorts_of(session, trial.id)
    last = cohorts[-1]
    if row.outcome == "decision_revised":
        current = repository.latest_history(session, trial.id)
        if current is None or current.complete_cohorts < len(cohorts):
            raise Conflict(
                f"cohort {last.number} is not complete yet (DLT windows open or a DLT awaiting"
                " adjudication); a revised decision decides what follows it, so record it once"
                " the cohort is complete, or record that the decision stands",
                problem=COHORT_NOT_COMPLETE,
            )
        for name, level in (("next_dose", row.next_dose), ("mtd", row.mtd)):
            if level is not None and not 1 <= level <= levels:
                raise Conflict(
                    f"{name} {level} is not a dose level of the protocol (1 to {levels})",
                    problem=NO_SUCH_DOSE_LEVEL,
                )
        return
    if row.outcome == "cohort_expanded":
        _check_expansion(session, trial, row, last.number, last.status, protocol.enrolment.cap)


def _check_expansion(
    session: Session, trial: Trial, row: LateDltResolution, last: int, status: str, cap: int
) -> None:
    assert row.expanded_cohort_number is not None
    assert row.added_subjects is not None
    if not 1 <= row.expanded_cohort_number <= last:
        raise Conflict(
            f"the trial has cohorts 1 to {last}; cohort {row.expanded_cohort_number} cannot be"
            " expanded",
            problem=NO_SUCH_COHORT,
        )
    if status == "open":
        raise Conflict(
            f"cohort {last} still takes patients, and one cohort takes patients at a time:"
            " expand once it is full",
            problem=COHORT_STILL_OPEN,
        )
    enrolled = cohorts_repository.trial_enrolled_count(session, trial.id)
    if enrolled + row.added_subjects > cap:
        raise Conflict(
            f"{row.added_subjects} more subjects would take the trial past its cap of {cap}"
            f" ({enrolled} enrolled)",
            problem=ENROLMENT_CAP_REACHED,
        )


def _add_signature(
    session: Session, resolution: LateDltResolution, signing: Signing, *, now: datetime
) -> LateDltResolutionSignature:
    principal = signing.principal
    assert principal.auth_time is not None
    signature = LateDltResolutionSignature(
        resolution_id=resolution.id,
        role=signing.role.value,
        signer=principal.subject,
        signer_name=principal.name,
        meaning=signing.meaning,
        state_hash=resolution.state_hash,
        authenticated_at=principal.auth_time,
        signed_at=now,
    )
    session.add(signature)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="escalation.late_dlt_resolution.sign",
        entity_type="late_dlt_resolution",
        entity_id=str(resolution.id),
        after={
            "role": signing.role.value,
            "meaning": signing.meaning,
            "state_hash": resolution.state_hash,
            "signed_at": now,
        },
    )
    return signature


def _take_effect(
    session: Session, trial: Trial, resolution: LateDltResolution, *, now: datetime
) -> None:
    before = _record(resolution)
    if resolution.outcome == "cohort_expanded":
        _open_expansion(session, trial, resolution, now=now)
    resolution.status = "resolved"
    resolution.resolved_at = now
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.late_dlt_resolution.resolve",
        entity_type="late_dlt_resolution",
        entity_id=str(resolution.id),
        before=before,
        after=_record(resolution),
        reason="signed by investigator and safety physician",
    )
    site_id = subjects_repository.site_of_registered_subject(session, resolution.subject_id)
    outbox.record_event(
        session, _event(resolution, site_id, now), subject=f"trials/{trial.id}/escalation"
    )
    recompute(
        session,
        trial_id=trial.id,
        cause=(f"late DLT {resolution.dlt_id} resolved: {resolution.outcome.replace('_', ' ')}"),
        now=now,
    )


def _open_expansion(
    session: Session, trial: Trial, resolution: LateDltResolution, *, now: datetime
) -> None:
    assert resolution.expanded_cohort_number is not None
    assert resolution.added_subjects is not None
    expanded = cohorts_service.cohort_by_number(
        session, trial.id, resolution.expanded_cohort_number
    )
    number = resolution.last_cohort_number + 1
    cohorts_service.open_cohort(
        session,
        trial=trial,
        number=number,
        dose_level=expanded.dose_level,
        size=resolution.added_subjects,
        decision_id=None,
        actor=SYSTEM_ACTOR,
        now=now,
    )
    resolution.opened_cohort_number = number


def _event(resolution: LateDltResolution, site_id: str, now: datetime) -> EscalationLateDltResolved:
    return EscalationLateDltResolved(
        trial_id=resolution.trial_id,
        site_id=site_id,
        resolution_id=str(resolution.id),
        dlt_id=resolution.dlt_id,
        subject_id=resolution.subject_id,
        cohort_number=resolution.subject_cohort_number,
        decision_id=str(resolution.decision_id),
        decision_cohort_number=resolution.decision_cohort_number,
        outcome=OUTCOMES[resolution.outcome],
        reason=resolution.reason,
        continue_trial=resolution.continue_trial,
        next_dose=resolution.next_dose,
        next_cohort_size=resolution.next_cohort_size,
        mtd=resolution.mtd,
        expanded_cohort_number=resolution.expanded_cohort_number,
        added_subjects=resolution.added_subjects,
        opened_cohort_number=resolution.opened_cohort_number,
        state_hash=resolution.state_hash,
        resolved_at=now,
    )


def _record(row: LateDltResolution) -> dict[str, object]:
    return {
        "dlt_id": row.dlt_id,
        "subject_id": row.subject_id,
        "decision_id": str(row.decision_id),
        "decision_cohort_number": row.decision_cohort_number,
        "last_cohort_number": row.last_cohort_number,
        "outcome": row.outcome,
        "reason": row.reason,
        "continue_trial": row.continue_trial,
        "next_dose": row.next_dose,
        "next_cohort_size": row.next_cohort_size,
        "mtd": row.mtd,
        "expanded_cohort_number": row.expanded_cohort_number,
        "added_subjects": row.added_subjects,
        "opened_cohort_number": row.opened_cohort_number,
        "state_hash": row.state_hash,
        "status": row.status,
    }
