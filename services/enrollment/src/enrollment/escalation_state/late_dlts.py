"""DLTs confirmed after a signed decision (ADR 0017): which are still to resolve, and the replay
of the history that resolved ones declare.

A confirmed DLT is late when it reached enrollment (or was adjudicated) after the decision on
its cohort, or on a later cohort, was signed and the next cohort opened: the decision was made
without it and people already acted on it. Software does not decide what follows; the
investigator and the safety physician do, in a signed resolution, and the replay then accepts
the departures from the design that their resolution declares, and only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from enrollment.escalation_state import repository
from enrollment.escalation_state.models import DltFact, EscalationDecision, LateDltResolution
from escalation import (
    Decision,
    DoseFindingDesign,
    InvalidHistoryError,
    parse_outcomes,
    recommend,
    replay_by_cohort,
)


@dataclass(frozen=True)
class LateDlt:
    """A confirmed DLT the signed decision `decision` was made without."""

    fact: DltFact
    cohort_number: int
    decision: EscalationDecision


def pending_late_dlts(session: Session, trial_id: str) -> list[LateDlt]:
    """The late DLTs of the trial that no resolution has resolved yet, oldest first."""
    acted_on = sorted(
        (
            d
            for d in repository.decisions_of(session, trial_id)
            if d.status == "decided" and d.next_cohort_opened and d.decided_at is not None
        ),
        key=lambda d: d.cohort_number,
    )
    if not acted_on:
        return []
    number_of = {c.id: c.number for c in repository.cohorts_of(session, trial_id)}
    cohort_of = {
        e.subject_id: number_of[e.cohort_id] for e in repository.enrolments_of(session, trial_id)
    }
    resolved = {r.dlt_id for r in repository.resolutions_of(session, trial_id, status="resolved")}
    late = []
    for fact in repository.confirmed_dlt_facts(session, trial_id):
        cohort = cohort_of.get(fact.subject_id)
        if cohort is None or fact.dlt_id in resolved:
            continue
        arrived = max(fact.received_at, fact.adjudicated_at)
        contradicted = next(
            (
                d
                for d in acted_on
                if d.cohort_number >= cohort and d.decided_at is not None and d.decided_at < arrived
            ),
            None,
        )
        if contradicted is not None:
            late.append(LateDlt(fact=fact, cohort_number=cohort, decision=contradicted))
    return late


def late_dlt(session: Session, trial_id: str, dlt_id: str) -> LateDlt | None:
    return next(
        (late for late in pending_late_dlts(session, trial_id) if late.fact.dlt_id == dlt_id), None
    )


def declared_decision(
    design: DoseFindingDesign,
    outcomes: str,
    cohort_numbers: Sequence[int],
    resolutions: Sequence[LateDltResolution],
) -> Decision:
    """The design's decision on `outcomes` (the cohorts numbered `cohort_numbers`, in order).

    A history the design allows is decided as always. Otherwise each departure must lie in a
    cohort a resolved late DLT declares; the decision is then the design's on the tallies the
    history reached. Raises `InvalidHistoryError` with the first departure nobody declared.
    """
    try:
        return recommend(design, outcomes)
    except InvalidHistoryError:
        if not resolutions:
            raise
    state, per_cohort = replay_by_cohort(design, parse_outcomes(outcomes), strict=False)
    declared_by: list[LateDltResolution] = []
    for number, departures in zip(cohort_numbers, per_cohort, strict=True):
        if not departures:
            continue
        declaring = [r for r in resolutions if r.accepts(number)]
        if not declaring:
            raise InvalidHistoryError(departures[0])
        declared_by.extend(r for r in declaring if r not in declared_by)
    decision = design.decide(state)
    dlts = ", ".join(f"DLT {r.dlt_id} ({r.outcome.replace('_', ' ')})" for r in declared_by)
    return decision._replace(
        reason=f"{decision.reason} (on the history declared by the resolution of late {dlts})"
    )


def revision_in_force(
    session: Session, resolutions: Sequence[LateDltResolution], last_cohort_number: int | None
) -> LateDltResolution | None:
    """The resolved revision that decides what follows the latest cohort, if any: no cohort
    opened since it was signed, and the decision it made has not been withdrawn."""
    for resolution in reversed(resolutions):
        if resolution.outcome != "decision_revised" or resolution.status != "resolved":
            continue
        if resolution.last_cohort_number != last_cohort_number:
            return None
        if resolution.revised_decision_id is None:
            return resolution
        revised = repository.get_decision(session, resolution.revised_decision_id)
        return resolution if revised is not None and revised.status == "decided" else None
    return None


def revised_decision(resolution: LateDltResolution, on: Decision) -> Decision:
    """The decision a revision declares, on the tallies the design's decision `on` was made."""
    reason = (
        f"decision revised by the investigator and the safety physician after late DLT"
        f" {resolution.dlt_id}: {resolution.reason}"
    )
    return Decision(
        continue_trial=bool(resolution.continue_trial),
        next_dose=resolution.next_dose if resolution.continue_trial else None,
        mtd=None if resolution.continue_trial else resolution.mtd,
        reason=reason,
        state=on.state,
        warnings=(),
        cohort_complete=True,
    )


def resolution_refs(resolutions: Sequence[LateDltResolution]) -> list[dict[str, Any]]:
    """What the state document records of the resolutions it rests on."""
    return [
        {"id": str(r.id), "dlt_id": r.dlt_id, "outcome": r.outcome}
        for r in resolutions
        if r.status == "resolved"
    ]
