"""What BOIN, i3+3 and mTPI-2 share: decide from the current level's DLT count, eliminate levels
that are too toxic, select the MTD by isotonic regression at the end.

Each of the three designs is a decision table over (patients, DLTs) at the current level: escalate
(E), stay (S) or de-escalate (D). Around the table, the R packages that define them (BOIN 2.7.2
`get.oc`; FIND 0.1.1 `run_sim_i3plus3` and `run_sim_mtpi2`, by the authors of i3+3 and mTPI-2)
run the same trial:

* Cohorts of ``cohort_size`` patients, ``num_cohorts`` of them at most, from ``start_dose``.
* After each cohort, if the current level has at least 3 patients and P(DLT rate > target | data)
  > ``elimination_cutoff`` under a Beta(1, 1) prior, that level and every level above it are
  eliminated; if level 1 is eliminated the trial stops with no MTD.
* E at the top level, or with the level above eliminated, stays; D at level 1 stays; a level that
  has just been eliminated is left downwards (FIND's tables mark it "DU").
* Optionally the trial stops once the current level has ``early_stop_patients`` patients (BOIN's
  and FIND's ``n.earlystop``, default 100: in effect never); each design says exactly when.
* At the end the MTD is selected as in `escalation.isotonic`.

The elimination of a level depends on its own tally only, and a level's tally changes only while
it is the current level, right before the check; so whether a level is eliminated is a function
of the tallies, and the design decides from `TrialState` alone, as every design here must.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from functools import cached_property
from operator import ge
from typing import Any, ClassVar, NamedTuple

from escalation.beta_binomial import elimination_boundary
from escalation.interface import DoseFindingDesign
from escalation.isotonic import Selection, select_closest_to_target
from escalation.limits import MAX_COHORT_SIZE, MAX_COHORTS, MAX_DOSE_LEVELS, require_whole_number
from escalation.state import (
    Decision,
    InvalidHistoryError,
    TrialState,
    count_dlts,
    stop,
    treat,
    wait_for_cohort,
)

ESCALATE, STAY, DEESCALATE = "E", "S", "D"

# What `IntervalDesign._outcome` found: the first cohort, a cohort in progress, the sample size
# reached, level 1 eliminated, the design's own safety stop, the early stop, or the next step.
_START, _WAIT, _FULL, _TOO_TOXIC, _UNSAFE, _EARLY, _STEP = range(7)
# Selections remembered per design; a long-lived design object never holds more.
_MAX_REMEMBERED = 1 << 18
_STOPS = frozenset({_FULL, _TOO_TOXIC, _UNSAFE, _EARLY})
_SELECTS = frozenset({_FULL, _EARLY})


class _Outcome(NamedTuple):
    kind: int
    dose: int | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class IntervalDesign(DoseFindingDesign):
    """The trial around an interval design's decision table (see the module doc)."""

    # At the sample size the MTD is selected from the tallies (`select`).
    ends_on_tallies: ClassVar[bool] = True

    num_doses: int
    target: float
    num_cohorts: int
    cohort_size: int = 3
    start_dose: int = 1
    elimination_cutoff: float = 0.95
    early_stop_patients: int = 100

    def __post_init__(self) -> None:
        require_whole_number("num_doses", self.num_doses, minimum=1, maximum=MAX_DOSE_LEVELS)
        require_whole_number("cohort_size", self.cohort_size, minimum=1, maximum=MAX_COHORT_SIZE)
        require_whole_number("num_cohorts", self.num_cohorts, minimum=1, maximum=MAX_COHORTS)
        require_whole_number("start_dose", self.start_dose, minimum=1, maximum=self.num_doses)
        require_whole_number(
            "early_stop_patients", self.early_stop_patients, minimum=1, maximum=100_000
        )
        require_probability("target", self.target)
        require_probability("elimination_cutoff", self.elimination_cutoff)

    # -- what each design defines --------------------------------------------------------------

    @abstractmethod
    def table_decision(self, dlts: int, patients: int) -> tuple[str, str]:
        """E, S or D for ``dlts`` DLTs in ``patients`` at the current level, and why in words."""

    @abstractmethod
    def stops_early(self, state: TrialState, dose: int, next_dose: int) -> bool:
        """The ``n.earlystop`` rule, as each reference package words it."""

    def safety_stop(self, state: TrialState, dose: int) -> str | None:
        """A further reason to stop with no MTD after a cohort at ``dose`` (BOIN's extra-safe)."""
        return None

    def select(self, state: TrialState) -> Selection:
        """The MTD at the end of the trial (`escalation.isotonic`), from the tallies alone."""
        key = (state.patients, state.dlts)
        selections = self._selections
        selection = selections.get(key)
        if selection is None:
            if len(selections) >= _MAX_REMEMBERED:
                selections.clear()
            selection = selections[key] = self.select_from_tallies(state)
        return selection

    def final_mtd(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> int | None:
        return self.select_from_tallies(TrialState(patients, dlts)).mtd

    @cached_property
    def _selections(self) -> dict[tuple[tuple[int, ...], tuple[int, ...]], Selection]:
        # Final states that differ only in the level given last share their selection.
        return {}

    def select_from_tallies(self, state: TrialState) -> Selection:
        """`select` without the memory: what each design defines."""
        eliminated = self.eliminated_from(state)
        if eliminated == 1:
            return Selection(None)
        return select_closest_to_target(
            state.patients, state.dlts, target=self.target, eliminated_from=eliminated
        )

    # -- shared --------------------------------------------------------------------------------

    @property
    def max_sample_size(self) -> int:
        return self.num_cohorts * self.cohort_size

    @cached_property
    def elimination_table(self) -> tuple[int | None, ...]:
        """Fewest DLTs that eliminate a level with n patients, for n = 0..max_sample_size."""
        return tuple(
            elimination_boundary(self.target, patients, self.elimination_cutoff)
            for patients in range(self.max_sample_size + 1)
        )

    @cached_property
    def decision_table(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """``table_decision`` for every (patients, DLTs), patients = 0..max_sample_size."""
        return tuple(
            tuple(self.table_decision(dlts, patients) for dlts in range(patients + 1))
            for patients in range(self.max_sample_size + 1)
        )

    @cached_property
    def _most_patients(self) -> int:
        return self.max_sample_size

    @cached_property
    def _steps(self) -> dict[tuple[int, int, int, int | None], tuple[int, str]]:
        return {}

    def eliminated_from(self, state: TrialState) -> int | None:
        """The lowest eliminated level (every level above it is eliminated too), or None."""
        eliminated = list(
            map(ge, state.dlts, map(self._elimination_at_least.__getitem__, state.patients))
        )
        return eliminated.index(True) + 1 if True in eliminated else None

    @cached_property
    def _elimination_at_least(self) -> list[int]:
        # The elimination table with "never" as a count no level reaches, for a quick scan;
        # patient counts above the maximum (lax histories) are never eliminated either.
        never = self.max_sample_size * 2 + 1
        table = [never if boundary is None else boundary for boundary in self.elimination_table]
        return table + [never] * (never - len(table) + 1)

    def next_cohort_size(self, state: TrialState, dose: int) -> int:
        return self.cohort_size - state.total_patients % self.cohort_size

    def step(self, state: TrialState) -> tuple[int | None, int | None]:
        outcome = self._outcome(state)
        if outcome.kind in _STOPS:
            return None, self.select(state).mtd if outcome.kind in _SELECTS else None
        return outcome.dose, None

    def decide(self, state: TrialState) -> Decision:
        outcome = self._outcome(state)
        kind, dose = outcome.kind, outcome.dose
        if kind == _START:
            return treat(
                state,
                self.start_dose,
                f"No patients yet: treat {self.cohort_size} at level {self.start_dose}, the"
                " starting level",
            )
        if kind == _WAIT:
            assert dose is not None
            waiting = state.total_patients % self.cohort_size
            return wait_for_cohort(
                state,
                dose,
                f"{waiting} of {self.cohort_size} patients in the cohort at level {dose}"
                " evaluated: wait for the cohort to complete",
            )
        if kind == _FULL:
            return self._finish(
                state, f"{state.total_patients} patients treated, the most the design treats"
            )
        if kind == _TOO_TOXIC:
            return stop(
                state,
                None,
                f"level 1 is too toxic ({self._seen(state, 1)}: P(DLT rate >"
                f" {self.target:g}) > {self.elimination_cutoff:g}): stop",
            )
        if kind == _UNSAFE:
            return stop(state, None, outcome.reason)
        if kind == _EARLY:
            assert dose is not None
            return self._finish(
                state,
                f"{outcome.reason}; but level {dose} has {state.patients[dose - 1]} patients,"
                f" the early-stopping number {self.early_stop_patients}",
            )
        assert dose is not None
        return treat(state, dose, outcome.reason)

    def _outcome(self, state: TrialState) -> _Outcome:
        """What the rules say, with what `decide` needs to say why (the rules live here)."""
        dose = state.current_dose
        if dose is None:
            return _Outcome(_START, self.start_dose)
        total = sum(state.patients)
        most = self._most_patients
        if total >= most:
            if total == most:
                return _Outcome(_FULL)
            raise InvalidHistoryError(
                f"{total} patients treated; the design treats at most {most}, and no rule applies"
            )
        if total % self.cohort_size:
            return _Outcome(_WAIT, dose)
        eliminated = self.eliminated_from(state)
        if eliminated == 1:
            return _Outcome(_TOO_TOXIC)
        unsafe = self.safety_stop(state, dose)
        if unsafe is not None:
            return _Outcome(_UNSAFE, reason=unsafe)
        # The step depends on the current level's tally and the eliminations alone; states that
        # share them share it (an enumeration meets each many times).
        key = (dose, state.patients[dose - 1], state.dlts[dose - 1], eliminated)
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = self._next_dose(state, dose, eliminated)
        next_dose, reason = step
        if self.stops_early(state, dose, next_dose):
            return _Outcome(_EARLY, next_dose, reason)
        return _Outcome(_STEP, next_dose, reason)

    def _next_dose(self, state: TrialState, dose: int, eliminated: int | None) -> tuple[int, str]:
        seen = self._seen(state, dose)
        if eliminated is not None and eliminated <= dose:
            # FIND's "DU": de-escalate and eliminate; never treat an eliminated level again.
            return eliminated - 1, (
                f"{seen}: level {eliminated} and above are eliminated (P(DLT rate >"
                f" {self.target:g}) > {self.elimination_cutoff:g}); de-escalate to level"
                f" {eliminated - 1}"
            )
        action, why = self.decision_table[state.patients[dose - 1]][state.dlts[dose - 1]]
        if action == ESCALATE:
            if dose == self.num_doses:
                return dose, f"{seen} ({why}): stay at level {dose}, the top level"
            if eliminated == dose + 1:
                return dose, (
                    f"{seen} ({why}): stay at level {dose}, level {dose + 1} is eliminated"
                )
            return dose + 1, f"{seen} ({why}): escalate to level {dose + 1}"
        if action == DEESCALATE:
            if dose == 1:
                return dose, f"{seen} ({why}): stay at level 1, the lowest level"
            return dose - 1, f"{seen} ({why}): de-escalate to level {dose - 1}"
        return dose, f"{seen} ({why}): stay at level {dose}"

    def _finish(self, state: TrialState, why: str) -> Decision:
        selection = self.select(state)
        if selection.mtd is None:
            return stop(state, None, f"{why}: stop; no level can be selected")
        if selection.note:
            return stop(state, selection.mtd, f"{why}: stop; {selection.note}")
        estimate = selection.estimate
        return stop(
            state,
            selection.mtd,
            f"{why}: stop; by isotonic regression level {selection.mtd}'s DLT rate is"
            f" estimated at {estimate:.3f}, the closest to the target {self.target:g}",
        )

    @staticmethod
    def _seen(state: TrialState, dose: int) -> str:
        return f"{count_dlts(state.dlts[dose - 1])} in {state.patients[dose - 1]} at level {dose}"

    def shared_document(self) -> dict[str, Any]:
        """The parameters every interval design has, for `to_document`."""
        return {
            "design": self.kind,
            "num_doses": self.num_doses,
            "target": self.target,
            "num_cohorts": self.num_cohorts,
            "cohort_size": self.cohort_size,
            "start_dose": self.start_dose,
            "elimination_cutoff": self.elimination_cutoff,
            "early_stop_patients": self.early_stop_patients,
        }


def require_probability(name: str, value: object, *, low: float = 0.0, high: float = 1.0) -> float:
    """``value`` if it is a real number strictly between ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not low < value < high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} (exclusive), not {value}")
    return float(value)
