"""Read views of the escalation state: per dose level counts, the pending decision, its
signatures, the history, and the late DLTs waiting for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from doseline.errors import NotFound
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import ReplacementSlot
from enrollment.escalation_state import repository
from enrollment.escalation_state.late_dlts import LateDlt, pending_late_dlts
from enrollment.escalation_state.models import (
    DecisionSignature,
    EscalationDecision,
    EscalationHistory,
    EscalationState,
    LateDltResolution,
    LateDltResolutionSignature,
)
from enrollment.escalation_state.recompute import gather_facts
from enrollment.escalation_state.signing import missing_roles
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of


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
        return missing_roles({s.role for s in self.signatures})


@dataclass(frozen=True)
class ResolutionView:
    resolution: LateDltResolution
    signatures: tuple[LateDltResolutionSignature, ...]

    @property
    def missing_signatures(self) -> list[str]:
        if self.resolution.status != "pending":
            return []
        return missing_roles({s.role for s in self.signatures})


@dataclass(frozen=True)
class LateDltView:
    """A late DLT still to resolve, and the resolution awaiting its second signature if any."""

    late: LateDlt
    pending: ResolutionView | None


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
    late_dlts: list[LateDltView]


def trial_or_404(session: Session, trial_id: str) -> Trial:
    trial = trials_repository.get_trial(session, trial_id)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    return trial


def decision_view(session: Session, decision: EscalationDecision) -> DecisionView:
    return DecisionView(decision, tuple(repository.signatures_of(session, decision.id)))


def resolution_view(session: Session, resolution: LateDltResolution) -> ResolutionView:
    return ResolutionView(
        resolution, tuple(repository.resolution_signatures_of(session, resolution.id))
    )


def late_dlt_views(session: Session, trial_id: str) -> list[LateDltView]:
    views = []
    for late in pending_late_dlts(session, trial_id):
        pending = repository.resolution_for(session, trial_id, late.fact.dlt_id, status="pending")
        views.append(
            LateDltView(late, resolution_view(session, pending) if pending is not None else None)
        )
    return views


def escalation_view(session: Session, *, trial_id: str, now: datetime) -> EscalationView:
    """The state as stored and the counts of the facts it was derived from, read in one
    snapshot (a recompute committing meanwhile is seen entirely or not at all)."""
    repository.read_one_snapshot(session)
    trial = trial_or_404(session, trial_id)
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
        late_dlts=late_dlt_views(session, trial_id),
    )


def history(
    session: Session, *, trial_id: str, after_seq: int, limit: int
) -> list[EscalationHistory]:
    trial_or_404(session, trial_id)
    return repository.history_page(session, trial_id, after_seq=after_seq, limit=limit)


def decisions(session: Session, *, trial_id: str) -> list[DecisionView]:
    trial_or_404(session, trial_id)
    return [decision_view(session, row) for row in repository.decisions_of(session, trial_id)]


def resolutions(session: Session, *, trial_id: str) -> list[ResolutionView]:
    trial_or_404(session, trial_id)
    return [resolution_view(session, row) for row in repository.resolutions_of(session, trial_id)]
