"""The A+B escalation rules: one decision from the trial's per-level tallies (CASES.md §A).

`decide` is the only place the A+B rules live. Recommendations, dose-transition pathways, exact
operating characteristics (enumerated, and the polynomial dynamic programme, which the tests hold
to the enumeration) and the simulator all follow it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from escalation.state import (
    Decision,
    DoseTally,
    InvalidHistoryError,
    TrialState,
    count_dlts,
    stop,
    treat,
    wait_for_cohort,
)

if TYPE_CHECKING:
    from escalation.design import Design

__all__ = [
    "Decision",
    "DoseTally",
    "InvalidHistoryError",
    "TrialState",
    "Variant",
    "decide",
    "is_too_toxic",
    "patients_for_next_cohort",
]


class Variant(StrEnum):
    """The three 3+3 rule variants of CASES.md ("Rule variants"); a trial must name one."""

    # Escalation only: a dose with too many DLTs stops the trial and the dose below is the MTD,
    # even if it has only one cohort (R escalation default, clintrials, bcrm esc-only).
    ESC = "esc"
    # Korn et al. (1994): a dose with too many DLTs sends the trial one level down to confirm
    # the level below on a full A+B cohort (R `allow_deescalate = TRUE`, bcrm default).
    DEESC = "deesc"
    # DEESC, and the top dose passed on one cohort is first expanded to A+B before it can be
    # declared (simFastBOIN `mtd_rule = "expand"`; the HDMSC-RP-01 default).
    EXPAND_TOP = "expand-top"


def decide(design: Design, state: TrialState) -> Decision:
    """Apply the design's rules to the trial state."""
    dose = state.current_dose
    if dose is None:
        return treat(
            state,
            design.start_dose,
            f"No patients yet: treat {design.cohort_size} at level {design.start_dose},"
            " the starting level",
        )
    tally = state.tally(dose)
    if tally.patients > design.full_cohort:
        raise InvalidHistoryError(
            f"level {dose} has {tally.patients} patients; the design never treats more than"
            f" {design.full_cohort} at one level, and no rule applies"
        )
    if tally.patients not in (design.cohort_size, design.full_cohort):
        return _wait_for_cohort(design, state, tally)
    decision = _rule_for_complete_cohort(design, state, tally)
    if decision.continue_trial:
        return _apply_protocol_limits(design, state, decision)
    return decision


def patients_for_next_cohort(design: Design, tally: DoseTally) -> int:
    """How many patients the next cohort at this level has (the rest of an incomplete one)."""
    if tally.patients < design.cohort_size:
        return design.cohort_size - tally.patients
    return design.full_cohort - tally.patients


def is_too_toxic(design: Design, tally: DoseTally) -> bool:
    """Whether the level has more DLTs than the design tolerates there.

    CASES.md §A, "If the next dose up has already been ruled out (>= 2 DLT ...)": on A patients
    the limit is ``max_dlts_to_expand``; once expanded, ``max_dlts_in_expanded``.
    """
    if tally.patients <= design.cohort_size:
        return tally.dlts > design.max_dlts_to_expand
    return tally.dlts > design.max_dlts_in_expanded


def _rule_for_complete_cohort(design: Design, state: TrialState, tally: DoseTally) -> Decision:
    """CASES.md §A for A = B = 3: "3, 0 DLTs: escalate"; "3, 1: treat 3 more at the same dose";
    "6, <= 1: escalate"; "3 or 6, >= 2: ESC stops with MTD = d-1, DEESC/EXPAND_TOP go to d-1"."""
    seen = f"{count_dlts(tally.dlts)} in {tally.patients} at level {tally.dose}"
    if tally.patients == design.cohort_size:
        if tally.dlts <= design.max_dlts_to_escalate:
            return _escalate(design, state, tally, seen)
        if tally.dlts <= design.max_dlts_to_expand:
            return treat(
                state,
                tally.dose,
                f"{seen}: treat {design.expansion_size} more at level {tally.dose}",
            )
    elif tally.dlts <= design.max_dlts_in_expanded:
        return _escalate(design, state, tally, seen)
    limit = (
        design.max_dlts_to_expand
        if tally.patients == design.cohort_size
        else design.max_dlts_in_expanded
    )
    seen = f"{seen}, over the limit of {limit}: level {tally.dose} is too toxic"
    if design.variant is Variant.ESC:
        return _stop_escalation_only(design, state, tally, seen)
    return _deescalate(design, state, tally, seen)


def _escalate(design: Design, state: TrialState, tally: DoseTally, seen: str) -> Decision:
    dose = tally.dose
    if dose == design.num_doses:
        if tally.patients == design.cohort_size and design.variant is Variant.EXPAND_TOP:
            return treat(
                state,
                dose,
                f"{seen}, the top level: treat {design.expansion_size} more at level {dose}"
                " before declaring it the MTD",
            )
        return stop(state, dose, f"{seen}, the top level: stop")
    above = state.tally(dose + 1)
    if is_too_toxic(design, above):
        return stop(
            state,
            dose,
            f"{seen}, and level {above.dose} is too toxic"
            f" ({count_dlts(above.dlts)} in {above.patients}): stop",
        )
    if above.patients >= design.full_cohort:
        return stop(
            state,
            dose,
            f"{seen}, and level {above.dose} already has {above.patients} patients: stop",
        )
    return treat(state, dose + 1, f"{seen}: escalate to level {dose + 1}")


def _stop_escalation_only(
    design: Design, state: TrialState, tally: DoseTally, seen: str
) -> Decision:
    # CASES.md ESC: "on >=2/3 or >=2/6 at dose d, stop; MTD = d-1 ... none if d = 1". A level
    # below that was never given (a trial started above level 1) is never declared.
    below = tally.dose - 1
    if below < 1:
        return stop(state, None, f"{seen}, and there is no lower level: stop")
    below_tally = state.tally(below)
    if below_tally.patients == 0:
        return stop(state, None, f"{seen}, and level {below} was never given: stop")
    if is_too_toxic(design, below_tally):
        return stop(state, None, f"{seen}, and level {below} is too toxic too: stop")
    return stop(state, below, f"{seen}: stop")


def _deescalate(design: Design, state: TrialState, tally: DoseTally, seen: str) -> Decision:
    # Korn et al. (1994), CASES.md DEESC: go to d-1 if it has fewer than A+B patients, otherwise
    # stop with the highest level that has A+B patients and at most the tolerated DLTs.
    below = tally.dose - 1
    if below < design.lowest_dose:
        why = (
            "there is no lower level"
            if below < 1
            else f"the protocol does not go below the starting level {design.start_dose}"
        )
        return stop(state, _korn_mtd(design, state, tally.dose), f"{seen}, and {why}: stop")
    below_tally = state.tally(below)
    if is_too_toxic(design, below_tally):
        # Only off-algorithm (lax) histories get here: never send patients to a too-toxic level.
        return stop(
            state,
            _korn_mtd(design, state, tally.dose),
            f"{seen}, and level {below} is too toxic too: stop",
        )
    if below_tally.patients >= design.full_cohort:
        return stop(
            state,
            _korn_mtd(design, state, tally.dose),
            f"{seen}, and level {below} already has {below_tally.patients} patients: stop",
        )
    more = " more" if below_tally.patients else ""
    size = patients_for_next_cohort(design, below_tally)
    return treat(state, below, f"{seen}: de-escalate; treat {size}{more} at level {below}")


def _korn_mtd(design: Design, state: TrialState, too_toxic_dose: int) -> int | None:
    """The highest level below the too-toxic one with A+B patients and tolerated DLTs."""
    for tally in reversed(state.tallies[: too_toxic_dose - 1]):
        if tally.patients >= design.full_cohort and tally.dlts <= design.max_dlts_in_expanded:
            return tally.dose
    return None


def _apply_protocol_limits(design: Design, state: TrialState, decision: Decision) -> Decision:
    """The optional protocol stops that end a trial the A+B rules would continue."""
    assert decision.next_dose is not None
    limit = design.stop_when_any_dose_has
    if limit is not None:
        for tally in state.tallies:
            if tally.patients >= limit:
                return stop(
                    state,
                    _early_stop_mtd(design, state),
                    f"{decision.reason}; but level {tally.dose} already has {tally.patients}"
                    f" patients and the protocol stops once any level has {limit}: stop",
                )
    cap = design.max_patients
    if cap is not None:
        size = patients_for_next_cohort(design, state.tally(decision.next_dose))
        if state.total_patients + size > cap:
            return stop(
                state,
                _early_stop_mtd(design, state),
                f"{decision.reason}; but {size} more would bring the total to"
                f" {state.total_patients + size}, over the cap of {cap} patients: stop",
            )
    return decision


def _early_stop_mtd(design: Design, state: TrialState) -> int | None:
    """The MTD of a trial a protocol limit stops before the A+B rules do (CASES.md §G7).

    The highest level below every too-toxic level that has passed the design's own test for an
    MTD: ESC accepts one cohort with at most ``max_dlts_to_escalate`` DLTs; DEESC and EXPAND_TOP
    need A+B patients with at most ``max_dlts_in_expanded`` (Korn). A level never given, or the
    level the rules were about to try, is never declared.
    """
    too_toxic = [tally.dose for tally in state.tallies if is_too_toxic(design, tally)]
    ceiling = min(too_toxic, default=design.num_doses + 1)
    for tally in reversed(state.tallies[: ceiling - 1]):
        passed_expanded = (
            tally.patients == design.full_cohort and tally.dlts <= design.max_dlts_in_expanded
        )
        passed_first = (
            tally.patients == design.cohort_size and tally.dlts <= design.max_dlts_to_escalate
        )
        if passed_expanded or (design.variant is Variant.ESC and passed_first):
            return tally.dose
    return None


def _wait_for_cohort(design: Design, state: TrialState, tally: DoseTally) -> Decision:
    # CASES.md §A, 1-2 and 4-5 patients: "stay; wait for the cohort to complete" (R escalation).
    if tally.patients < design.cohort_size:
        evaluated, size = tally.patients, design.cohort_size
    else:
        evaluated, size = tally.patients - design.cohort_size, design.expansion_size
    reason = (
        f"{evaluated} of {size} patients in the cohort at level {tally.dose} evaluated"
        f" ({count_dlts(tally.dlts)} at the level so far): wait for the cohort to complete"
    )
    if is_too_toxic(design, tally):
        reason += f"; level {tally.dose} is already too toxic, whatever the remaining outcomes"
    return wait_for_cohort(state, tally.dose, reason)
