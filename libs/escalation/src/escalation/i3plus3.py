"""The i3+3 design (Liu, Wang & Ji 2020), as its authors' R package FIND 0.1.1 runs it.

Definitions (Liu M, Wang S-J, Ji Y. The i3+3 design for phase I clinical trials. J Biopharm Stat
2020;30:294-304; FIND `get_decision_i3plus3`, `run_sim_i3plus3`, `select_mtd`):

* Target DLT rate pT and an equivalence interval [``ei_lower``, ``ei_upper``] around it. FIND
  requires the interval; the paper's examples use pT -/+ 0.05, which is the default here (rounded
  to 10 decimals, so 0.3 gives exactly [0.25, 0.35]).
* With y DLTs in n patients at the current level: escalate if y/n < ei_lower; stay if y/n is in
  the interval; above it, stay if (y - 1)/n < ei_lower (one DLT fewer would be below the
  interval: the data cannot tell), otherwise de-escalate.
* Safety rule: eliminate the level and those above when n >= 3 and P(rate > pT | Beta(1, 1)
  prior) > ``elimination_cutoff`` (FIND's ``DU.pp``, default 0.95); FIND's table marks it "DU".
* ``early_stop_patients`` (``n.earlystop``, default 100): FIND stops and selects once the level
  chosen for the next cohort already has that many patients.
* ``extra_safe`` (default off): FIND's `select_mtd` then steps the selected level down by one (no
  MTD from level 1) when its isotonic estimate is above ei_upper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from escalation.interval import (
    DEESCALATE,
    ESCALATE,
    STAY,
    IntervalDesign,
    require_probability,
)
from escalation.isotonic import Selection
from escalation.state import TrialState


@dataclass(frozen=True, kw_only=True)
class EquivalenceIntervalDesign(IntervalDesign):
    """An interval design with an equivalence interval around the target (i3+3, mTPI-2)."""

    ei_lower: float | None = None
    ei_upper: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        # FIND get_decision_*: "pT is too low (must be > 0.05)", "too high (must be < 0.6)".
        require_probability("target", self.target, low=0.05, high=0.6)
        if self.ei_lower is None:
            object.__setattr__(self, "ei_lower", round(self.target - 0.05, 10))
        if self.ei_upper is None:
            object.__setattr__(self, "ei_upper", round(self.target + 0.05, 10))
        lower = require_probability("ei_lower", self.ei_lower)
        upper = require_probability("ei_upper", self.ei_upper)
        if not lower < self.target < upper:
            raise ValueError(
                f"the equivalence interval [{lower}, {upper}] must contain the target"
                f" {self.target} strictly inside it"
            )
        if self.target - lower < 0.1 * self.target or upper - self.target < 0.1 * self.target:
            raise ValueError(
                f"the equivalence interval [{lower}, {upper}] is too close to the target"
                f" {self.target}: each bound must be at least 10% of the target away (FIND)"
            )

    @property
    def interval(self) -> tuple[float, float]:
        """[ei_lower, ei_upper] as numbers."""
        assert self.ei_lower is not None
        assert self.ei_upper is not None
        return self.ei_lower, self.ei_upper

    def stops_early(self, state: TrialState, dose: int, next_dose: int) -> bool:
        # FIND run_sim_*: "after decision, if n at next dose reaches n.earlystop".
        return state.patients[next_dose - 1] >= self.early_stop_patients

    def interval_document(self) -> dict[str, Any]:
        return self.shared_document() | {"ei_lower": self.ei_lower, "ei_upper": self.ei_upper}


@dataclass(frozen=True, kw_only=True)
class I3Plus3(EquivalenceIntervalDesign):
    """The i3+3 design; see the module doc for every parameter and its reference default."""

    kind: ClassVar[str] = "i3+3"

    extra_safe: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.extra_safe, bool):
            raise ValueError(f"extra_safe must be true or false, not {self.extra_safe!r}")

    def table_decision(self, dlts: int, patients: int) -> tuple[str, str]:
        if patients == 0:
            return STAY, "no patients"
        lower, upper = self.interval
        rate = dlts / patients
        shown = f"DLT rate {rate:.3f}"
        if rate < lower:
            return ESCALATE, f"{shown} below the interval [{lower:g}, {upper:g}]"
        if rate <= upper:
            return STAY, f"{shown} in the interval [{lower:g}, {upper:g}]"
        if (dlts - 1) / patients < lower:
            return STAY, (
                f"{shown} above the interval [{lower:g}, {upper:g}], but one DLT fewer would be"
                " below it"
            )
        return DEESCALATE, f"{shown} above the interval [{lower:g}, {upper:g}]"

    def select_from_tallies(self, state: TrialState) -> Selection:
        selection = super().select_from_tallies(state)
        if not self.extra_safe or selection.mtd is None:
            return selection
        _, upper = self.interval
        # FIND compares the estimate with its tie-breaking offset (i x 1e-10, i-th candidate).
        if selection.estimate + selection.position * 1e-10 > upper:
            if selection.mtd == 1:
                return Selection(None)
            note = (
                f"level {selection.mtd}'s isotonic estimate {selection.estimate:.3f} is above"
                f" {upper:g}, so the extra-safe rule selects level {selection.mtd - 1}"
            )
            return Selection(selection.mtd - 1, note=note)
        return selection

    def describe(self) -> str:
        lower, upper = self.interval
        return (
            f"i3+3 design (Liu, Wang & Ji 2020) over {self.num_doses} dose levels, target DLT"
            f" rate {self.target:g}, equivalence interval [{lower:g}, {upper:g}]:"
            f" {self.num_cohorts} cohorts of {self.cohort_size} from level {self.start_dose};"
            f" eliminate a level when P(DLT rate > {self.target:g}) >"
            f" {self.elimination_cutoff:g}; MTD by isotonic regression."
        )

    def to_document(self) -> dict[str, Any]:
        return self.interval_document() | {"extra_safe": self.extra_safe}
