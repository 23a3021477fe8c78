"""Escalation use cases: recompute the state from stored facts, apply DLT adjudications, sign
decisions, open the next cohort only after both signatures.

Every recompute locks the trial's escalation row (`SELECT … FOR UPDATE`), so DLT events,
window closures and signatures on one trial are applied one at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal, Role
from doseline.contracts.enrollment import (
    EscalationDecided,
    EscalationDecisionWithdrawn,
    EscalationRecommended,
    TrialCompleted,
)
from doseline.errors import Conflict, Forbidden, NotFound
from doseline.signatures import require_fresh_authentication
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Cohort, ReplacementSlot
from enrollment.escalation_state import repository
from enrollment.escalation_state.models import (
    DecisionSignature,
    EscalationDecision,
    EscalationHistory,
    EscalationState,
)
from enrollment.escalation_state.outcomes import (
    CohortOutcomes,
    SubjectOutcome,
    decision_outcome,
    derive_outcomes,
    state_document,
    state_hash,
)
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from escalation import Decision, Design, InvalidHistoryError, recommend
from escalation.rules import DoseTally, patients_for_next_cohort

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "enrollment service <system>"
SIGNING_ROLES = (Role.INVESTIGATOR, Role.SAFETY_PHYSICIAN)


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
class DoseLevelSummary:
    """What the escalation view shows for one dose level."""

    dose_level: int
    per_kg: Decimal
    patients: int
    evaluable_patients: int
    dlts: int
    open_slots: int


def dose_level_summaries(
    session: Session, trial: Trial, *, now: datetime
) -> list[DoseLevelSummary]:
    """Per dose level: subjects enrolled, DLT-evaluable so far, with a DLT, and open slots."""
    protocol = protocol_of(session, trial)
    facts = gather_facts(session, trial.id)
    summaries = []
    for level in protocol.dose_escalation.dose_levels:
        subjects = [s for c in facts.cohorts if c.dose_level == level.level for s in c.subjects]
        open_slots = sum(
            cohorts_service.free_slots(session, cohort, now=now)
            for cohort in facts.cohort_rows
            if cohort.dose_level == level.level
        )
        summaries.append(
            DoseLevelSummary(
                dose_level=level.level,
                per_kg=level.per_kg,
                patients=len(subjects),
                evaluable_patients=sum(1 for s in subjects if s.complete),
                dlts=sum(1 for s in subjects if s.dlt),
                open_slots=open_slots,
            )
        )
    return summaries


@dataclass(frozen=True)
class DecisionView:
    decision: EscalationDecision
    signatures: tuple[DecisionSignature, ...]

    @property
    def missing_signatures(self) -> list[str]:
        if self.decision.status != "pending":
            return []
        signed = {s.role for s in self.signatures}
        return [r.value for r in SIGNING_ROLES if r.value not in signed]


@dataclass(frozen=True)
class EscalationView:
    """The escalation state as people read it."""

    trial: Trial
    state: EscalationState
    current: EscalationHistory
    levels: list[DoseLevelSummary]
    pending: DecisionView | None
    unmatched_dlts: int
    # (slot, cohort number) of replacement slots flagged for the investigator
    slots_to_review: list[tuple[ReplacementSlot, int]]


def _trial(session: Session, trial_id: str) -> Trial:
    trial = trials_repository.get_trial(session, trial_id)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    return trial


def decision_view(session: Session, decision: EscalationDecision) -> DecisionView:
    return DecisionView(decision, tuple(repository.signatures_of(session, decision.id)))


def escalation_view(session: Session, *, trial_id: str, now: datetime) -> EscalationView:
    """The state as stored and the counts of the facts it was derived from, read in one
    snapshot (a recompute committing meanwhile is seen entirely or not at all)."""
    repository.read_one_snapshot(session)
    trial = _trial(session, trial_id)
    state = repository.get_state(session, trial_id)
    current = repository.latest_history(session, trial_id)
    if state is None or current is None:
        raise NotFound(f"trial {trial_id} has no escalation state")
    pending = repository.pending_decision(session, trial_id)
    return EscalationView(
        trial=trial,
        state=state,
        current=current,
        levels=dose_level_summaries(session, trial, now=now),
        pending=decision_view(session, pending) if pending is not None else None,
        unmatched_dlts=len(repository.unmatched_dlts(session, trial_id)),
        slots_to_review=[
            (slot, cohorts_service.cohort_number_of(session, slot.cohort_id))
            for slot in cohorts_repository.replacement_slots_of_trial(
                session, trial_id, status="flagged"
            )
        ],
    )


def history(
    session: Session, *, trial_id: str, after_seq: int, limit: int
) -> list[EscalationHistory]:
    _trial(session, trial_id)
    return repository.history_page(session, trial_id, after_seq=after_seq, limit=limit)


def decisions(session: Session, *, trial_id: str) -> list[DecisionView]:
    _trial(session, trial_id)
    return [decision_view(session, row) for row in repository.decisions_of(session, trial_id)]


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
    protocol = protocol_of(session, trial)
    design = protocol.design()
    facts = gather_facts(session, trial_id)
    repository.mark_matched(session, [s.subject_id for c in facts.cohorts for s in c.subjects])
    derived = derive_outcomes(facts.cohorts)
    decision: Decision | None
    try:
        decision = recommend(design, derived.outcomes)
        continue_trial, next_dose, mtd, reason = (
            decision.continue_trial,
            decision.next_dose,
            decision.mtd,
            decision.reason,
        )
    except InvalidHistoryError as error:
        # Stored facts the design cannot produce (e.g. a replaced patient whose DLT was
        # confirmed later): keep the state visible and ask people, never guess.
        log.error("escalation.invalid_history", trial_id=trial_id, error=str(error))
        decision = None
        continue_trial, next_dose, mtd = True, None, None
        reason = f"the stored outcomes are not a history the design allows: {error}"
    document = state_document(
        trial_id=trial_id,
        outcomes=derived.outcomes,
        complete_cohorts=derived.complete_cohorts,
        continue_trial=continue_trial,
        next_dose=next_dose,
        mtd=mtd,
        reason=reason,
        protocol_version=protocol.protocol.version,
        protocol_hash=protocol.content_hash,
    )
    digest = state_hash(document)
    history = repository.latest_history(session, trial_id)
    if history is None or digest != state.state_hash:
        state.history_seq += 1
        state.outcomes = derived.outcomes
        state.state_hash = digest
        state.updated_at = now
        history = EscalationHistory(
            trial_id=trial_id,
            seq=state.history_seq,
            outcomes=derived.outcomes,
            complete_cohorts=derived.complete_cohorts,
            continue_trial=continue_trial,
            next_dose=next_dose,
            mtd=mtd,
            reason=reason,
            protocol_version=protocol.protocol.version,
            protocol_hash=protocol.content_hash,
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
    if trial.status == "open":
        _keep_decision_in_step(session, trial, facts, derived.complete_cohorts, decision, history)
    return history


def _keep_decision_in_step(
    session: Session,
    trial: Trial,
    facts: TrialFacts,
    complete_cohorts: int,
    decision: Decision | None,
    history: EscalationHistory,
) -> None:
    pending = repository.pending_decision(session, trial.id)
    last = facts.cohorts[-1] if facts.cohorts else None
    ready = last is not None and complete_cohorts == len(facts.cohorts) and decision is not None
    if pending is not None and (
        not ready or pending.state_hash != history.state_hash or last is None
    ):
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
        decided = None
    if decided is not None:
        return
    protocol = protocol_of(session, trial)
    design = protocol.design()
    size = _next_cohort_size(design, decision)
    row = EscalationDecision(
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
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.recommend",
        entity_type="escalation_decision",
        entity_id=str(row.id),
        after=_decision_record(row),
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


def _withdraw_signed_decision(
    session: Session,
    trial: Trial,
    decision: EscalationDecision,
    cohort_number: int,
    history: EscalationHistory,
) -> None:
    before = _decision_record(decision)
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
        after={**_decision_record(decision), "current_state_hash": history.state_hash},
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


def _next_cohort_size(design: Design, decision: Decision) -> int | None:
    if not decision.continue_trial or decision.next_dose is None:
        return None
    tally: DoseTally = decision.tallies[decision.next_dose - 1]
    return patients_for_next_cohort(design, tally)


def _decision_record(row: EscalationDecision) -> dict[str, object]:
    return {
        "cohort_number": row.cohort_number,
        "outcomes": row.outcomes,
        "outcome": row.outcome,
        "continue_trial": row.continue_trial,
        "next_dose": row.next_dose,
        "next_cohort_size": row.next_cohort_size,
        "mtd": row.mtd,
        "reason": row.reason,
        "state_hash": row.state_hash,
        "protocol_version": row.protocol_version,
        "protocol_hash": row.protocol_hash,
        "status": row.status,
    }


DltStatus = Literal["suspected", "confirmed", "ruled_out"]


@dataclass(frozen=True)
class DltAdjudication:
    trial_id: str
    subject_id: str
    dlt_id: str
    ae_id: str
    status: DltStatus
    adjudication_sequence: int
    grade: int
    study_day: int
    adjudicated_at: datetime
    event_id: str


def apply_dlt_adjudication(
    session: Session, adjudication: DltAdjudication, *, now: datetime
) -> bool:
    """Store the adjudication if it is the newest for its DLT, then recompute; False if stale."""
    if not store_dlt_adjudication(session, adjudication, now=now):
        return False
    recompute_after_dlt(session, adjudication, now=now)
    return True


def recompute_after_dlt(session: Session, adjudication: DltAdjudication, *, now: datetime) -> None:
    if repository.get_state(session, adjudication.trial_id) is not None:
        recompute(
            session,
            trial_id=adjudication.trial_id,
            cause=f"DLT {adjudication.dlt_id} {adjudication.status.replace('_', ' ')}",
            now=now,
        )


def store_dlt_adjudication(
    session: Session, adjudication: DltAdjudication, *, now: datetime
) -> bool:
    """Store the adjudication if it is the newest for its DLT (under the escalation lock);
    False if stale. The caller recomputes the state.

    A DLT for a subject this trial has not enrolled is kept (`matched` false, logged as an
    error) and counts as soon as such a subject is enrolled: a safety fact is never dropped.
    """
    state = repository.lock_state(session, adjudication.trial_id)
    matched = state is not None and any(
        e.subject_id == adjudication.subject_id
        for e in repository.enrolments_of(session, adjudication.trial_id)
    )
    applied = repository.upsert_dlt_fact(
        session,
        {
            "dlt_id": adjudication.dlt_id,
            "trial_id": adjudication.trial_id,
            "subject_id": adjudication.subject_id,
            "status": adjudication.status,
            "adjudication_sequence": adjudication.adjudication_sequence,
            "ae_id": adjudication.ae_id,
            "grade": adjudication.grade,
            "study_day": adjudication.study_day,
            "event_id": adjudication.event_id,
            "adjudicated_at": adjudication.adjudicated_at,
            "matched": matched,
            "received_at": now,
        },
    )
    if not applied:
        log.info(
            "escalation.stale_dlt_adjudication_ignored",
            dlt_id=adjudication.dlt_id,
            sequence=adjudication.adjudication_sequence,
        )
        return False
    if not matched:
        log.error(
            "escalation.dlt_for_unknown_subject",
            trial_id=adjudication.trial_id,
            subject_id=adjudication.subject_id,
            dlt_id=adjudication.dlt_id,
        )
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="dlt.adjudication.apply",
        entity_type="dlt",
        entity_id=adjudication.dlt_id,
        after={
            "subject_id": adjudication.subject_id,
            "status": adjudication.status,
            "adjudication_sequence": adjudication.adjudication_sequence,
            "event_id": adjudication.event_id,
            "matched": matched,
        },
    )
    return True


def sign_decision(
    session: Session,
    *,
    trial_id: str,
    decision_id: uuid.UUID,
    principal: Principal,
    role: Role,
    meaning: str,
    signed_state_hash: str,
    now: datetime,
) -> tuple[EscalationDecision, DecisionSignature]:
    """Add one of the two signatures; with both, the decision takes effect."""
    if role not in SIGNING_ROLES:
        raise Forbidden("escalation decisions are signed by an investigator and a safety physician")
    if role not in principal.roles:
        raise Forbidden(
            f"you cannot sign as {role.value}: your token does not carry that role",
            slug="signing-role-missing",
        )
    require_fresh_authentication(principal, now=now)
    state = repository.lock_state(session, trial_id)
    decision = repository.get_decision(session, decision_id, for_update=True)
    if state is None or decision is None or decision.trial_id != trial_id:
        raise NotFound(f"trial {trial_id} has no escalation decision {decision_id}")
    if decision.status != "pending":
        raise Conflict(
            f"this decision is {decision.status}; only a pending decision can be signed",
            slug="decision-not-pending",
            extra={"decision_status": decision.status},
        )
    if signed_state_hash != state.state_hash or decision.state_hash != state.state_hash:
        raise Conflict(
            "the escalation state changed since you read it; review the new state and sign its"
            " hash",
            slug="state-changed",
            extra={"current_state_hash": state.state_hash},
        )
    signatures = repository.signatures_of(session, decision.id)
    if any(s.signer == principal.subject for s in signatures):
        raise Conflict(
            "you have already signed this decision; the second signature must come from a"
            " different person",
            slug="same-signer",
        )
    if any(s.role == role.value for s in signatures):
        raise Conflict(
            f"this decision already has the {role.value} signature", slug="already-signed"
        )
    assert principal.auth_time is not None
    signature = DecisionSignature(
        decision_id=decision.id,
        role=role.value,
        signer=principal.subject,
        signer_name=principal.name,
        meaning=meaning,
        state_hash=state.state_hash,
        authenticated_at=principal.auth_time,
        signed_at=now,
    )
    session.add(signature)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="escalation.decision.sign",
        entity_type="escalation_decision",
        entity_id=str(decision.id),
        after={
            "role": role.value,
            "meaning": meaning,
            "state_hash": state.state_hash,
            "signed_at": now,
        },
    )
    if len(signatures) + 1 == len(SIGNING_ROLES):
        _take_effect(session, decision, now=now)
    return decision, signature


def _take_effect(session: Session, decision: EscalationDecision, *, now: datetime) -> None:
    before = _decision_record(decision)
    decision.status = "decided"
    decision.decided_at = now
    trial = trials_repository.get_trial(session, decision.trial_id, for_update=True)
    assert trial is not None
    cohort = cohorts_service.cohort_by_number(session, trial.id, decision.cohort_number)
    cohort.status = "decided"
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.decision.take_effect",
        entity_type="escalation_decision",
        entity_id=str(decision.id),
        before=before,
        after=_decision_record(decision),
        reason="signed by investigator and safety physician",
    )
    outbox.record_event(
        session,
        EscalationDecided(
            trial_id=trial.id,
            decision_id=str(decision.id),
            recommendation_id=str(decision.id),
            outcome=decision.outcome,
            next_dose=decision.next_dose,
            mtd=decision.mtd,
            state_hash=decision.state_hash,
            signed_at=now,
        ),
        subject=f"trials/{trial.id}/escalation/decisions/{decision.id}",
    )
    if not decision.continue_trial:
        trial_before = {"status": trial.status, "mtd": trial.mtd}
        trial.status = "completed"
        trial.mtd = decision.mtd
        trial.completed_at = now
        audit.record(
            session,
            actor=SYSTEM_ACTOR,
            action="trial.complete",
            entity_type="trial",
            entity_id=trial.id,
            before=trial_before,
            after={"status": "completed", "mtd": decision.mtd},
            reason=decision.reason,
        )
        outbox.record_event(
            session,
            TrialCompleted(
                trial_id=trial.id,
                mtd=decision.mtd,
                outcomes=decision.outcomes,
                completed_at=now,
            ),
            subject=f"trials/{trial.id}",
        )


def open_next_cohort(
    session: Session, *, trial_id: str, principal: Principal, now: datetime
) -> Cohort:
    """Open the cohort the signed decision calls for; refused while the gate is closed."""
    state = repository.lock_state(session, trial_id)
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if state is None or trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(
            f"trial {trial_id} is {trial.status}; no cohort can open", slug="trial-completed"
        )
    cohorts = repository.cohorts_of(session, trial_id)
    last = cohorts[-1]
    decision = repository.decided_decision(session, trial_id, last.number)
    if decision is None:
        pending = repository.pending_decision(session, trial_id)
        if pending is None:
            detail = (
                f"cohort {last.number} at dose level {last.dose_level} has no escalation decision"
                " yet (its DLT windows are still open); the next cohort opens after that decision"
                " is signed"
            )
        else:
            signed = {s.role for s in repository.signatures_of(session, pending.id)}
            missing = [r.value for r in SIGNING_ROLES if r.value not in signed]
            detail = (
                f"the escalation decision for cohort {last.number} still needs the signature of"
                f" the {' and the '.join(missing)}; the next cohort opens only after both"
            )
        raise Conflict(detail, slug="escalation-gate-closed", title="Escalation gate closed")
    if decision.next_cohort_opened:
        raise Conflict(
            f"the cohort after cohort {last.number} is already open", slug="cohort-already-open"
        )
    assert decision.next_dose is not None
    assert decision.next_cohort_size is not None
    cap = protocol_of(session, trial).enrolment.cap
    enrolled = cohorts_repository.trial_enrolled_count(session, trial_id)
    if enrolled + decision.next_cohort_size > cap:
        raise Conflict(
            f"cohort {last.number + 1} needs {decision.next_cohort_size} subjects, but"
            f" {enrolled} of the cap of {cap} are enrolled; the protocol cannot continue as"
            " decided: amend it or stop the trial",
            slug="enrolment-cap-reached",
        )
    decision.next_cohort_opened = True
    return cohorts_service.open_cohort(
        session,
        trial=trial,
        number=last.number + 1,
        dose_level=decision.next_dose,
        size=decision.next_cohort_size,
        decision_id=decision.id,
        actor=principal.audit_name,
        now=now,
    )
