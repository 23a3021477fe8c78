"""Decision gating: the pending decision follows the state; a signed decision the facts no longer
support is withdrawn before its next cohort opens, and held for people once it has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.contracts.enrollment import EscalationDecisionWithdrawn, EscalationRecommended
from enrollment.cohorts import service as cohorts_service
from enrollment.escalation_state import repository
from enrollment.escalation_state.models import (
    EscalationDecision,
    EscalationHistory,
    LateDltResolution,
)
from enrollment.escalation_state.outcomes import CohortOutcomes, decision_outcome
from enrollment.escalation_state.records import SYSTEM_ACTOR, decision_record
from enrollment.escalation_state.signing import take_effect
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from escalation import Decision, DoseFindingDesign

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Revision:
    """A decision revised in a signed late-DLT resolution: it takes effect without new
    signatures, the resolution's are its authority."""

    resolution: LateDltResolution
    next_cohort_size: int | None


@dataclass(frozen=True)
class Step:
    """A recompute's result, as the gate sees it."""

    trial: Trial
    cohorts: tuple[CohortOutcomes, ...]
    complete_cohorts: int
    decision: Decision | None
    history: EscalationHistory
    revision: Revision | None = None


def keep_decision_in_step(session: Session, step: Step, *, now: datetime) -> None:
    trial, decision, history = step.trial, step.decision, step.history
    last = step.cohorts[-1] if step.cohorts else None
    ready = last is not None and step.complete_cohorts == len(step.cohorts) and decision is not None
    pending = repository.pending_decision(session, trial.id)
    if pending is not None and (not ready or pending.state_hash != history.state_hash):
        _supersede(session, pending, history)
        pending = None
    if not ready or pending is not None or last is None or decision is None:
        return
    decided = repository.decided_decision(session, trial.id, last.number)
    if decided is not None and decided.state_hash != history.state_hash:
        if decided.next_cohort_opened:
            # A safety fact changed under a signed decision whose next cohort is already
            # treating: people must review it; nothing is decided for them.
            log.error(
                "escalation.changed_after_signed_decision",
                trial_id=trial.id,
                cohort=last.number,
                signed_hash=decided.state_hash,
                current_hash=history.state_hash,
            )
            return
        # Signed, but the next cohort has not opened: the decision no longer describes the
        # facts, so it must not open a cohort. It is withdrawn and a new one, from the facts as
        # they are now, waits for both signatures again.
        _withdraw_signed_decision(session, trial, decided, last.number, history)
        if step.revision is not None:
            # The revised decision was signed on other facts: it no longer decides anything,
            # and the next recompute decides from the design again.
            return
        decided = None
    if decided is not None:
        return
    if step.revision is not None:
        _revise(session, step, last, step.revision, now=now)
    else:
        _recommend(session, trial, last, decision, history)


def _supersede(session: Session, pending: EscalationDecision, history: EscalationHistory) -> None:
    # The facts changed under an unsigned decision: its signatures no longer hold.
    pending.status = "superseded"
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.decision.supersede",
        entity_type="escalation_decision",
        entity_id=str(pending.id),
        before={"status": "pending", "state_hash": pending.state_hash},
        after={"status": "superseded", "current_state_hash": history.state_hash},
        reason="the escalation state changed before both signatures",
    )


def _decision_row(
    trial: Trial,
    last: CohortOutcomes,
    decision: Decision,
    history: EscalationHistory,
    size: int | None,
) -> EscalationDecision:
    return EscalationDecision(
        trial_id=trial.id,
        cohort_number=last.number,
        history_id=history.id,
        outcomes=history.outcomes,
        outcome=decision_outcome(decision, current_dose=last.dose_level),
        continue_trial=decision.continue_trial,
        next_dose=decision.next_dose,
        next_cohort_size=size,
        mtd=decision.mtd,
        reason=decision.reason,
        state_hash=history.state_hash,
        protocol_version=history.protocol_version,
        protocol_hash=history.protocol_hash,
        status="pending",
    )


def _recommend(
    session: Session,
    trial: Trial,
    last: CohortOutcomes,
    decision: Decision,
    history: EscalationHistory,
) -> None:
    """A new pending decision from the design's recommendation, awaiting both signatures."""
    size = _next_cohort_size(protocol_of(session, trial).design(), decision)
    row = _decision_row(trial, last, decision, history, size)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.recommend",
        entity_type="escalation_decision",
        entity_id=str(row.id),
        after=decision_record(row),
    )
    outbox.record_event(
        session,
        EscalationRecommended(
            trial_id=trial.id,
            recommendation_id=str(row.id),
            cohort_number=row.cohort_number,
            outcomes=row.outcomes,
            continue_trial=row.continue_trial,
            next_dose=row.next_dose,
            mtd=row.mtd,
            reason=row.reason,
            protocol_version=row.protocol_version,
            state_hash=row.state_hash,
        ),
        subject=f"trials/{trial.id}/escalation/decisions/{row.id}",
    )


def _revise(
    session: Session, step: Step, last: CohortOutcomes, revision: Revision, *, now: datetime
) -> None:
    """The revised decision of a signed resolution, in effect at once."""
    assert step.decision is not None
    row = _decision_row(step.trial, last, step.decision, step.history, revision.next_cohort_size)
    session.add(row)
    session.flush()
    revision.resolution.revised_decision_id = row.id
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.decision.revise",
        entity_type="escalation_decision",
        entity_id=str(row.id),
        after={**decision_record(row), "late_dlt_resolution_id": str(revision.resolution.id)},
        reason=f"late-DLT resolution {revision.resolution.id}",
    )
    take_effect(
        session,
        row,
        now=now,
        reason=(
            "revised in a late-DLT resolution signed by the investigator and the safety physician"
        ),
    )


def _withdraw_signed_decision(
    session: Session,
    trial: Trial,
    decision: EscalationDecision,
    cohort_number: int,
    history: EscalationHistory,
) -> None:
    before = decision_record(decision)
    decision.status = "withdrawn"
    cohort = cohorts_service.cohort_by_number(session, trial.id, cohort_number)
    cohort.status = "treating"
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.decision.withdraw",
        entity_type="escalation_decision",
        entity_id=str(decision.id),
        before=before,
        after={**decision_record(decision), "current_state_hash": history.state_hash},
        reason=(
            "a safety fact changed after both signatures and before the next cohort opened; "
            "the decision is made again from the current facts"
        ),
    )
    outbox.record_event(
        session,
        EscalationDecisionWithdrawn(
            trial_id=trial.id,
            decision_id=str(decision.id),
            cohort_number=cohort_number,
            signed_state_hash=decision.state_hash,
            current_state_hash=history.state_hash,
            reason="a safety fact changed after the decision was signed, before the next cohort",
        ),
        subject=f"trials/{trial.id}/escalation/decisions/{decision.id}",
    )


def _next_cohort_size(design: DoseFindingDesign, decision: Decision) -> int | None:
    if not decision.continue_trial or decision.next_dose is None:
        return None
    return design.next_cohort_size(decision.state, decision.next_dose)
