"""Recommendations for an observed trial history, replayed patient by patient through the rules."""

from __future__ import annotations

from collections.abc import Sequence

from escalation.interface import DoseFindingDesign
from escalation.limits import MAX_HISTORY_PATIENTS
from escalation.notation import Cohort, parse_outcomes
from escalation.state import Decision, InvalidHistoryError, TrialState

LAX_MODE_NOTE = (
    "lax mode: the design cannot produce this history; the advice applies the rules to the"
    " current tallies"
)


def recommend(
    design: DoseFindingDesign, outcomes: str | Sequence[Cohort], *, strict: bool = True
) -> Decision:
    """The design's decision after ``outcomes``.

    The history is replayed one patient at a time, and every patient must be one the design
    called for (CASES.md §E): no patient after the trial stopped, none at a level the design did
    not choose, no new cohort before the one in progress completed. Strict mode raises
    `InvalidHistoryError` at the first departure; lax mode advises anyway and lists every
    departure in ``warnings``. A level above ``num_doses``, or a level with more than A+B patients
    in the cohort being decided, is an error in both modes: no rule applies to it.
    """
    cohorts = parse_outcomes(outcomes) if isinstance(outcomes, str) else tuple(outcomes)
    state, departures = replay(design, cohorts, strict=strict)
    decision = design.decide(state)
    if departures:
        return decision._replace(warnings=(LAX_MODE_NOTE, *departures))
    return decision


def replay(
    design: DoseFindingDesign, cohorts: Sequence[Cohort], *, strict: bool
) -> tuple[TrialState, tuple[str, ...]]:
    """The state after ``cohorts``, and (in lax mode) each patient the design did not call for.

    This is the validation of a history for every design: each patient is checked against the
    design's decision just before them.
    """
    state, per_cohort = replay_by_cohort(design, cohorts, strict=strict)
    return state, tuple(departure for departures in per_cohort for departure in departures)


def replay_by_cohort(
    design: DoseFindingDesign, cohorts: Sequence[Cohort], *, strict: bool
) -> tuple[TrialState, tuple[tuple[str, ...], ...]]:
    """`replay`, with the departures of each cohort apart (one tuple per cohort, in order), for
    callers that accept some cohorts' departures and not others'."""
    patients = 0
    for cohort in cohorts:
        if not isinstance(cohort, Cohort):
            raise TypeError(f"outcomes must be a string or a sequence of Cohort, not {cohort!r}")
        if cohort.dose > design.num_doses:
            # R three_plus_three_selector: "maximum dose given exceeds number of doses".
            raise InvalidHistoryError(
                f"level {cohort.dose} was given, but the design has {design.num_doses} dose levels"
            )
        patients += len(cohort.outcomes)
        if patients > MAX_HISTORY_PATIENTS:
            raise InvalidHistoryError(
                f"the history has more than {MAX_HISTORY_PATIENTS} patients, the most a trial"
                " history may have"
            )
    state = TrialState.empty(design.num_doses)
    per_cohort: list[tuple[str, ...]] = []
    patient = 0
    for cohort in cohorts:
        departures: list[str] = []
        for dlt in cohort.outcomes:
            patient += 1
            departure = _departure(design, state, patient, cohort.dose)
            if departure is not None:
                if strict:
                    raise InvalidHistoryError(departure)
                departures.append(departure)
            state = design.add_patients(state, cohort.dose, 1, int(dlt))
        per_cohort.append(tuple(departures))
    return state, tuple(per_cohort)


def _departure(design: DoseFindingDesign, state: TrialState, patient: int, dose: int) -> str | None:
    try:
        decision = design.decide(state)
    except InvalidHistoryError as error:
        return f"before patient {patient}: {error}"
    if not decision.continue_trial:
        return (
            f"patient {patient} was given level {dose} after the design had stopped the trial"
            f" ({decision.reason})"
        )
    if decision.next_dose != dose:
        return (
            f"patient {patient} was given level {dose}, where the design called for level"
            f" {decision.next_dose} ({decision.reason})"
        )
    return None
