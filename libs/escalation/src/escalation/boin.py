"""BOIN, the Bayesian optimal interval design (Liu & Yuan 2015), as R's BOIN 2.7.2 runs it.

Definitions (Liu & Yuan 2015, J R Stat Soc C 64:507-523; `BOIN::get.boundary`):

* Target DLT rate phi; phi1 (``p_saf``, default 0.6 phi), the highest rate deemed subtherapeutic,
  and phi2 (``p_tox``, default 1.4 phi), the lowest deemed overly toxic.
* Escalation boundary lambda_e = log((1 - phi1)/(1 - phi)) / log(phi (1 - phi1) / (phi1 (1 - phi)))
  and de-escalation boundary lambda_d = log((1 - phi)/(1 - phi2)) / log(phi2 (1 - phi) /
  (phi (1 - phi2))): phi = 0.3 gives 0.236 and 0.359.
* With n patients at the current level: escalate if DLTs <= floor(lambda_e n); de-escalate if
  DLTs >= ceiling(lambda_d n), or lambda_d n + 1 when lambda_d n is a whole number (BOIN 2.7.2
  compares with a tolerance of 1e-12: the rate must exceed lambda_d); otherwise stay.
* Elimination (``elimination_cutoff``, BOIN's ``cutoff.eli``, default 0.95): the fewest DLTs with
  P(rate > phi | Beta(1, 1) prior) > 0.95 and n >= 3; the de-escalation boundary is lowered to the
  elimination boundary where it is higher (`get.boundary`).
* ``extra_safe`` (BOIN's ``extrasafe``, default off) with ``extra_safe_offset`` (``offset``,
  default 0.05): also stop with no MTD once level 1 has >= 3 patients and P(rate > phi) >
  cutoff - offset, and eliminate every level at selection then (`get.oc`, `select.mtd`). This is
  BOIN's stricter, 3+3-like stopping rule for an overly toxic lowest level.
* ``early_stop_patients`` (``n.earlystop``, default 100): `get.oc` stops and selects when the
  current level has that many patients and the decision is to stay there.
* ``bound_mtd`` (``boundMTD``, default off): the selected MTD's isotonic estimate must not exceed
  lambda_d (`select.mtd`).

Not included: BOIN's accelerated titration (``titration``), and drug combinations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from escalation.beta_binomial import elimination_boundary, prob_rate_above
from escalation.interval import (
    DEESCALATE,
    ESCALATE,
    STAY,
    IntervalDesign,
    require_probability,
)
from escalation.isotonic import Selection, select_closest_to_target
from escalation.state import TrialState

# BOIN 2.7.2 get.boundary: `abs(round(lambda2 * n) - lambda2 * n) < tol`, tol = 1e-12.
_WHOLE_NUMBER_TOLERANCE = 1e-12


@dataclass(frozen=True)
class BoundaryRow:
    """One column of `BOIN::get.boundary`'s table: the decisions for ``patients`` at a level."""

    patients: int
    escalate_at_most: int
    deescalate_at_least: int
    eliminate_at_least: int | None


@dataclass(frozen=True, kw_only=True)
class BOIN(IntervalDesign):
    """The BOIN design; see the module doc for every parameter and its reference default."""

    kind: ClassVar[str] = "boin"

    p_saf: float | None = None
    p_tox: float | None = None
    extra_safe: bool = False
    extra_safe_offset: float = 0.05
    bound_mtd: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        # BOIN get.boundary: "the target is too low/high".
        require_probability("target", self.target, low=0.05 - 1e-12, high=0.6 + 1e-12)
        if self.p_saf is None:
            object.__setattr__(self, "p_saf", 0.6 * self.target)
        if self.p_tox is None:
            object.__setattr__(self, "p_tox", 1.4 * self.target)
        saf = require_probability("p_saf", self.p_saf)
        tox = require_probability("p_tox", self.p_tox)
        if self.target - saf < 0.1 * self.target:
            raise ValueError(
                f"p_saf {saf} must be below the target {self.target} by at least 10% of it"
                " (BOIN: the probability deemed safe cannot be higher than or too close to the"
                " target)"
            )
        if tox - self.target < 0.1 * self.target:
            raise ValueError(
                f"p_tox {tox} must be above the target {self.target} by at least 10% of it"
                " (BOIN: the probability deemed toxic cannot be lower than or too close to the"
                " target)"
            )
        for name in ("extra_safe", "bound_mtd"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")
        offset = require_probability("extra_safe_offset", self.extra_safe_offset)
        if offset >= 0.5:
            raise ValueError(f"extra_safe_offset must be below 0.5, not {offset} (BOIN)")

    @property
    def lambda_e(self) -> float:
        """The escalation boundary on the observed DLT rate."""
        phi, phi1 = self.target, self._saf
        return math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))

    @property
    def lambda_d(self) -> float:
        """The de-escalation boundary on the observed DLT rate."""
        phi, phi2 = self.target, self._tox
        return math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))

    @property
    def _saf(self) -> float:
        assert self.p_saf is not None
        return self.p_saf

    @property
    def _tox(self) -> float:
        assert self.p_tox is not None
        return self.p_tox

    @cached_property
    def boundaries(self) -> tuple[BoundaryRow, ...]:
        """The decision table for n = 1..max_sample_size, as `BOIN::get.boundary` prints it."""
        rows = []
        lambda_e, lambda_d = self.lambda_e, self.lambda_d
        for patients in range(1, self.max_sample_size + 1):
            exact = lambda_d * patients
            if abs(round(exact) - exact) < _WHOLE_NUMBER_TOLERANCE:
                deescalate = round(exact) + 1
            else:
                deescalate = math.ceil(exact)
            eliminate = self.elimination_table[patients]
            if eliminate is not None and deescalate > eliminate:
                deescalate = eliminate
            rows.append(
                BoundaryRow(patients, math.floor(lambda_e * patients), deescalate, eliminate)
            )
        return tuple(rows)

    @property
    def stop_boundaries(self) -> tuple[tuple[int, int | None], ...]:
        """The extra-safe rule's table for level 1: (n, fewest DLTs that stop the trial), as
        `BOIN::get.boundary(extrasafe = TRUE)` prints it in ``stop_boundary``."""
        cutoff = self.elimination_cutoff - self.extra_safe_offset
        return tuple(
            (patients, elimination_boundary(self.target, patients, cutoff))
            for patients in range(1, self.max_sample_size + 1)
        )

    def table_decision(self, dlts: int, patients: int) -> tuple[str, str]:
        if patients == 0:
            return STAY, "no patients"
        row = self.boundaries[patients - 1]
        rate = f"DLT rate {dlts / patients:.3f}"
        if dlts <= row.escalate_at_most:
            return ESCALATE, f"{rate} <= lambda_e {self.lambda_e:.3f}"
        if dlts >= row.deescalate_at_least:
            return DEESCALATE, f"{rate} >= lambda_d {self.lambda_d:.3f}"
        return STAY, f"{rate} between lambda_e {self.lambda_e:.3f} and lambda_d {self.lambda_d:.3f}"

    def stops_early(self, state: TrialState, dose: int, next_dose: int) -> bool:
        # get.oc: n[d] >= n.earlystop and the decision keeps the trial at d (stay, or escalation
        # or de-escalation impossible).
        return next_dose == dose and state.patients[dose - 1] >= self.early_stop_patients

    def safety_stop(self, state: TrialState, dose: int) -> str | None:
        if not self.extra_safe or dose != 1:
            return None
        patients, dlts = state.patients[0], state.dlts[0]
        # get.oc applies it only where the elimination table has a boundary for n[1].
        if self.elimination_table[patients] is None:
            return None
        cutoff = self.elimination_cutoff - self.extra_safe_offset
        if prob_rate_above(self.target, dlts, patients) > cutoff:
            return (
                f"level 1 is too toxic for the extra-safe rule ({dlts} of {patients}:"
                f" P(DLT rate > {self.target:g}) > {cutoff:g}): stop"
            )
        return None

    def select_from_tallies(self, state: TrialState) -> Selection:
        if self.extra_safe and state.patients[0] >= 3:
            cutoff = self.elimination_cutoff - self.extra_safe_offset
            if prob_rate_above(self.target, state.dlts[0], state.patients[0]) > cutoff:
                return Selection(None)
        eliminated = self.eliminated_from(state)
        if eliminated == 1:
            return Selection(None)
        return select_closest_to_target(
            state.patients,
            state.dlts,
            target=self.target,
            eliminated_from=eliminated,
            at_most=self.lambda_d if self.bound_mtd else None,
        )

    def describe(self) -> str:
        text = (
            f"BOIN design (Liu & Yuan 2015) over {self.num_doses} dose levels, target DLT rate"
            f" {self.target:g}: {self.num_cohorts} cohorts of {self.cohort_size} from level"
            f" {self.start_dose}; escalate while the current level's DLT rate is at most"
            f" {self.lambda_e:.3f}, de-escalate from {self.lambda_d:.3f}; eliminate a level when"
            f" P(DLT rate > {self.target:g}) > {self.elimination_cutoff:g}"
        )
        if self.extra_safe:
            text += "; stop early when level 1 exceeds the extra-safe cut-off"
        return text + "; MTD by isotonic regression."

    def to_document(self) -> dict[str, Any]:
        return self.shared_document() | {
            "p_saf": self.p_saf,
            "p_tox": self.p_tox,
            "extra_safe": self.extra_safe,
            "extra_safe_offset": self.extra_safe_offset,
            "bound_mtd": self.bound_mtd,
        }
