"""The mTPI-2 design (Guo et al. 2017), as the R package FIND 0.1.1 of its authors' group runs it.

Definitions (Guo W, Wang S-J, Yang S, Lynn H, Ji Y. A Bayesian interval dose-finding design
addressing Ockham's razor: mTPI-2. Contemp Clin Trials 2017;58:23-33; FIND `get_decision_mtpi2`,
`run_sim_mtpi2`, `select_mtd`):

* Target DLT rate pT and an equivalence interval EI = [``ei_lower``, ``ei_upper``], by default
  pT -/+ 0.05 (the paper's epsilon1 = epsilon2 = 0.05), rounded to 10 decimals.
* The unit interval is cut into EI and intervals of the same length below and above it; the
  lowest and highest are cut off at 0 and 1. With y DLTs in n patients and a Beta(1, 1) prior,
  each interval's unit probability mass is P(rate in interval | data) / its length. The interval
  with the largest mass decides (the lowest of equal ones, as R's `which.max`): below EI escalate,
  EI stay, above de-escalate. Interval ends are rounded to 12 decimals, which removes the
  floating-point noise of repeated subtraction and changes nothing else.
* Safety rule, ``early_stop_patients`` and selection as in i3+3 (`escalation.i3plus3`); FIND has
  no extra-safe option for mTPI-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from escalation.beta_binomial import beta_cdf
from escalation.i3plus3 import EquivalenceIntervalDesign
from escalation.interval import DEESCALATE, ESCALATE, STAY


@dataclass(frozen=True, kw_only=True)
class MTPI2(EquivalenceIntervalDesign):
    """The mTPI-2 design; see the module doc for every parameter and its reference default."""

    kind: ClassVar[str] = "mtpi2"

    @cached_property
    def intervals(self) -> tuple[tuple[float, float], ...]:
        """The intervals from 0 to 1, EI among them, each as (start, end)."""
        lower, upper = self.interval
        width = upper - lower
        below = []
        end = lower
        while end > 1e-12:
            below.append((max(round(end - width, 12), 0.0), round(end, 12)))
            end -= width
        above = []
        start = upper
        while start < 1.0 - 1e-12:
            above.append((round(start, 12), min(round(start + width, 12), 1.0)))
            start += width
        return (*reversed(below), (lower, upper), *above)

    def table_decision(self, dlts: int, patients: int) -> tuple[str, str]:
        a, b = dlts + 1, patients - dlts + 1
        masses = [
            (beta_cdf(end, a, b) - beta_cdf(start, a, b)) / (end - start)
            for start, end in self.intervals
        ]
        best = masses.index(max(masses))
        start, end = self.intervals[best]
        where = f"[{start:g}, {end:g}] has the largest unit probability mass"
        equivalence = self.intervals.index(self.interval)
        if best < equivalence:
            return ESCALATE, f"{where}, below the equivalence interval"
        if best == equivalence:
            return STAY, f"{where}, the equivalence interval"
        return DEESCALATE, f"{where}, above the equivalence interval"

    def describe(self) -> str:
        lower, upper = self.interval
        return (
            f"mTPI-2 design (Guo et al. 2017) over {self.num_doses} dose levels, target DLT rate"
            f" {self.target:g}, equivalence interval [{lower:g}, {upper:g}]: {self.num_cohorts}"
            f" cohorts of {self.cohort_size} from level {self.start_dose}; the interval with the"
            " largest unit probability mass decides; eliminate a level when P(DLT rate >"
            f" {self.target:g}) > {self.elimination_cutoff:g}; MTD by isotonic regression."
        )

    def to_document(self) -> dict[str, Any]:
        return self.interval_document()
