"""Recompute the escalation state from stored facts: derive the outcome string, ask the design,
record a changed state, and keep the pending decision in step with it.

Every recompute locks the trial's escalation row (`SELECT … FOR UPDATE`), so DLT events,
window closures and signatures on one trial are applied one at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from doseline import audit
from doseline.errors import NotFound
from enrollment.cohorts.models import Cohort
from enrollment.escalation_state import gating, repository
from enrollment.escalation_state.late_dlts import (
    declared_decision,
    resolution_refs,
    revised_decision,
    revision_in_force,
)
from enrollment.escalation_state.models import (
    EscalationHistory,
    EscalationState,
    LateDltResolution,
)
from enrollment.escalation_state.outcomes import (
    CohortOutcomes,
    DerivedOutcomes,
    SubjectOutcome,
    derive_outcomes,
    state_document,
    state_hash,
)
from enrollment.escalation_state.records import SYSTEM_ACTOR
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from escalation import Decision, DoseFindingDesign, InvalidHistoryError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TrialFacts:
    """The stored facts of one trial, as the rules see them."""

    cohorts: tuple[CohortOutcomes, ...]
    cohort_rows: tuple[Cohort, ...]


def gather_facts(session: Session, trial_id: str) -> TrialFacts:
    cohort_rows = repository.cohorts_of(session, trial_id)
    enrolments = repository.enrolments_of(session, trial_id)
    windows = repository.windows_of(session, trial_id)
    subject_ids = [e.subject_id for e in enrolments]
    with_dlt = repository.confirmed_dlt_subjects(session, subject_ids)
    suspected = repository.suspected_dlt_subjects(session, subject_ids)
    withdrawn = repository.withdrawn_subjects(session, subject_ids)
    by_cohort: dict[uuid.UUID, list[SubjectOutcome]] = {}
    for enrolment in enrolments:
        window = windows.get(enrolment.subject_id)
        by_cohort.setdefault(enrolment.cohort_id, []).append(
            SubjectOutcome(
                subject_id=enrolment.subject_id,
                sequence=enrolment.sequence,
                dose_level=enrolment.dose_level,
                dlt=enrolment.subject_id in with_dlt,
                window_closed=window is not None and window.status == "closed",
                evaluable=None if window is None else window.evaluable,
                dlt_pending=enrolment.subject_id in suspected,
                withdrawn_untreated=window is None and enrolment.subject_id in withdrawn,
            )
        )
    cohorts = tuple(
        CohortOutcomes(
            number=row.number,
            dose_level=row.dose_level,
            planned_size=row.planned_size,
            subjects=tuple(by_cohort.get(row.id, [])),
        )
        for row in cohort_rows
    )
    return TrialFacts(cohorts=cohorts, cohort_rows=tuple(cohort_rows))


@dataclass(frozen=True)
class Judgement:
    """What the rules (or the people, in a revision) say on the derived outcomes."""

    decision: Decision | None
    reason: str
    revision: gating.Revision | None


def lock(session: Session, trial_id: str) -> None:
    """Lock the trial's escalation state until the transaction ends. Every writer of the facts
    the state is derived from (enrolments, DLT windows, cohorts) takes it first, before the
    rows it changes and before its first audit entry, so a trial's writers run one at a time."""
    repository.lock_state(session, trial_id)


def initialise(session: Session, *, trial: Trial, now: datetime) -> EscalationHistory:
    """The escalation row of a new trial and its first state (no patients yet)."""
    session.add(EscalationState(trial_id=trial.id, outcomes="", state_hash="", history_seq=0))
    session.flush()
    return recompute(session, trial_id=trial.id, cause="trial created", now=now)


def recompute(session: Session, *, trial_id: str, cause: str, now: datetime) -> EscalationHistory:
    """Derive the outcome string, ask `escalation.recommend`, record a changed state, and keep
    the pending decision in step with it."""
    state = repository.lock_state(session, trial_id)
    trial = trials_repository.get_trial(session, trial_id)
    if state is None or trial is None:
        raise NotFound(f"trial {trial_id} has no escalation state")
    facts = gather_facts(session, trial_id)
    repository.mark_matched(session, [s.subject_id for c in facts.cohorts for s in c.subjects])
    derived = derive_outcomes(facts.cohorts)
    resolutions = repository.resolutions_of(session, trial_id, status="resolved")
    protocol = protocol_of(session, trial)
    judgement = _judge(session, trial_id, protocol.design(), facts, derived, resolutions)
    decision = judgement.decision
    document = state_document(
        trial_id=trial_id,
        outcomes=derived.outcomes,
        complete_cohorts=derived.complete_cohorts,
        continue_trial=True if decision is None else decision.continue_trial,
        next_dose=None if decision is None else decision.next_dose,
        mtd=None if decision is None else decision.mtd,
        reason=judgement.reason,
        protocol_version=protocol.protocol.version,
        protocol_hash=protocol.content_hash,
        late_dlt_resolutions=resolution_refs(resolutions),
    )
    history = _record_state(session, state, document, derived, cause=cause, now=now)
    if trial.status == "open":
        gating.keep_decision_in_step(
            session,
            gating.Step(
                trial=trial,
                cohorts=facts.cohorts,
                complete_cohorts=derived.complete_cohorts,
                decision=decision,
                history=history,
                revision=judgement.revision,
            ),
            now=now,
        )
    return history


def _judge(
    session: Session,
    trial_id: str,
    design: DoseFindingDesign,
    facts: TrialFacts,
    derived: DerivedOutcomes,
    resolutions: list[LateDltResolution],
) -> Judgement:
    numbers = [c.number for c in facts.cohorts[: derived.complete_cohorts]]
    try:
        decision = declared_decision(design, derived.outcomes, numbers, resolutions)
    except InvalidHistoryError as error:
        # Stored facts the design cannot produce (e.g. a replaced patient whose DLT was
        # confirmed later): keep the state visible and ask people, never guess.
        log.error("escalation.invalid_history", trial_id=trial_id, error=str(error))
        reason = f"the stored outcomes are not a history the design allows: {error}"
        return Judgement(decision=None, reason=reason, revision=None)
    last = facts.cohorts[-1].number if facts.cohorts else None
    resolution = revision_in_force(session, resolutions, last)
    if resolution is None:
        return Judgement(decision=decision, reason=decision.reason, revision=None)
    revised = revised_decision(resolution, decision)
    return Judgement(
        decision=revised,
        reason=revised.reason,
        revision=gating.Revision(
            resolution=resolution, next_cohort_size=resolution.next_cohort_size
        ),
    )


def _record_state(
    session: Session,
    state: EscalationState,
    document: dict[str, Any],
    derived: DerivedOutcomes,
    *,
    cause: str,
    now: datetime,
) -> EscalationHistory:
    """The latest history entry, after adding one if the state changed."""
    trial_id = state.trial_id
    digest = state_hash(document)
    history = repository.latest_history(session, trial_id)
    if history is not None and digest == state.state_hash:
        return history
    state.history_seq += 1
    state.outcomes = derived.outcomes
    state.state_hash = digest
    state.updated_at = now
    history = EscalationHistory(
        trial_id=trial_id,
        seq=state.history_seq,
        outcomes=derived.outcomes,
        complete_cohorts=derived.complete_cohorts,
        continue_trial=document["continue_trial"],
        next_dose=document["next_dose"],
        mtd=document["mtd"],
        reason=document["reason"],
        protocol_version=document["protocol_version"],
        protocol_hash=document["protocol_hash"],
        state=document,
        state_hash=digest,
        cause=cause[:200],
        recorded_at=now,
    )
    session.add(history)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.state_change",
        entity_type="trial",
        entity_id=trial_id,
        after={"seq": history.seq, "state_hash": digest, **document},
        reason=cause,
    )
    log.info("escalation.state_changed", trial_id=trial_id, outcomes=derived.outcomes)
    return history
