"""One six-minute walk test: validated record, % predicted, LLN, SpO2 nadir and Borg changes.

Fields follow the ATS 2002 statement and the ERS/ATS 2014 technical standard (OUTCOMES.md §3.2).
The SpO2 nadir is the lowest saturation during the walk: the continuously monitored lowest value
when it was recorded, otherwise the end-of-test value. The pre-test value is at rest, before the
walk, so it does not enter the nadir; the drop from it to the nadir is reported separately.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from imaging.walk.reference import Sex, WalkEquation, WalkReference, predicted_distance


class WalkTestError(ValueError):
    """The walk test record is implausible or contradicts itself."""


# The modified Borg (CR10) dyspnoea and fatigue scales: 0, 0.5, then whole numbers to 10.
BORG_SCALE: Final = frozenset({0.0, 0.5, *(float(step) for step in range(1, 11))})

# Plausibility limits that catch unit errors (feet for metres, fractions for percent).
_DISTANCE_RANGE_M: Final = (0.0, 1500.0)
_COURSE_LENGTH_RANGE_M: Final = (10.0, 100.0)
_SPO2_RANGE_PERCENT: Final = (50.0, 100.0)
_HEART_RATE_RANGE_PER_MIN: Final = (20, 250)
_OXYGEN_FLOW_RANGE_L_MIN: Final = (0.0, 30.0)


@dataclass(frozen=True)
class SupplementalOxygen:
    """Oxygen carried during the walk; ERS/ATS 2014 asks that repeat tests use the same."""

    flow_l_min: float
    device: str


@dataclass(frozen=True)
class SixMinuteWalkTest:
    """What the operator records for one walk."""

    distance_m: float
    course_length_m: float
    stops: int
    spo2_before_percent: float | None = None
    spo2_end_percent: float | None = None
    spo2_lowest_percent: float | None = None
    heart_rate_before_per_min: int | None = None
    heart_rate_end_per_min: int | None = None
    borg_dyspnoea_before: float | None = None
    borg_dyspnoea_after: float | None = None
    borg_fatigue_before: float | None = None
    borg_fatigue_after: float | None = None
    supplemental_oxygen: SupplementalOxygen | None = None


@dataclass(frozen=True)
class WalkAssessment:
    """The derived results of one walk."""

    test: SixMinuteWalkTest
    reference: WalkReference
    percent_predicted: float
    below_lln: bool
    spo2_nadir_percent: float | None
    spo2_drop_from_rest_percent: float | None
    """Pre-test SpO2 minus the nadir, in percentage points."""
    borg_dyspnoea_change: float | None
    borg_fatigue_change: float | None
    heart_rate_change_per_min: int | None


def assess_walk(
    test: SixMinuteWalkTest,
    *,
    sex: Sex,
    age_years: float,
    height_cm: float,
    weight_kg: float,
    equation: WalkEquation = WalkEquation.ENRIGHT_SHERRILL_1998,
    allow_extrapolation: bool = False,
) -> WalkAssessment:
    """Validate one walk and compare its distance with the reference equation."""
    _check_test(test)
    reference = predicted_distance(
        sex=sex,
        age_years=age_years,
        height_cm=height_cm,
        weight_kg=weight_kg,
        equation=equation,
        allow_extrapolation=allow_extrapolation,
    )
    nadir = (
        test.spo2_lowest_percent if test.spo2_lowest_percent is not None else test.spo2_end_percent
    )
    return WalkAssessment(
        test=test,
        reference=reference,
        percent_predicted=100.0 * test.distance_m / reference.predicted_m,
        below_lln=test.distance_m < reference.lln_m,
        spo2_nadir_percent=nadir,
        spo2_drop_from_rest_percent=_change(test.spo2_before_percent, nadir),
        borg_dyspnoea_change=_change(test.borg_dyspnoea_after, test.borg_dyspnoea_before),
        borg_fatigue_change=_change(test.borg_fatigue_after, test.borg_fatigue_before),
        heart_rate_change_per_min=(
            None
            if test.heart_rate_end_per_min is None or test.heart_rate_before_per_min is None
            else test.heart_rate_end_per_min - test.heart_rate_before_per_min
        ),
    )


def _change(minuend: float | None, subtrahend: float | None) -> float | None:
    if minuend is None or subtrahend is None:
        return None
    return minuend - subtrahend


def _check_test(test: SixMinuteWalkTest) -> None:
    _check_range("distance", test.distance_m, _DISTANCE_RANGE_M, "m")
    _check_range("course length", test.course_length_m, _COURSE_LENGTH_RANGE_M, "m")
    if test.stops < 0:
        raise WalkTestError(f"stops {test.stops} cannot be negative")
    for name, spo2 in (
        ("SpO2 before", test.spo2_before_percent),
        ("SpO2 at end", test.spo2_end_percent),
        ("lowest SpO2", test.spo2_lowest_percent),
    ):
        if spo2 is not None:
            _check_range(name, spo2, _SPO2_RANGE_PERCENT, "%")
    if (
        test.spo2_lowest_percent is not None
        and test.spo2_end_percent is not None
        and test.spo2_lowest_percent > test.spo2_end_percent
    ):
        raise WalkTestError(
            f"lowest SpO2 during the walk ({test.spo2_lowest_percent} %) is above the "
            f"end-of-test SpO2 ({test.spo2_end_percent} %)"
        )
    for name, rate in (
        ("heart rate before", test.heart_rate_before_per_min),
        ("heart rate at end", test.heart_rate_end_per_min),
    ):
        if rate is not None:
            _check_range(name, rate, _HEART_RATE_RANGE_PER_MIN, "/min")
    for name, borg in (
        ("Borg dyspnoea before", test.borg_dyspnoea_before),
        ("Borg dyspnoea after", test.borg_dyspnoea_after),
        ("Borg fatigue before", test.borg_fatigue_before),
        ("Borg fatigue after", test.borg_fatigue_after),
    ):
        if borg is not None and borg not in BORG_SCALE:
            raise WalkTestError(
                f"{name} {borg} is not on the modified Borg scale (0, 0.5, 1, 2, … 10)"
            )
    oxygen = test.supplemental_oxygen
    if oxygen is not None:
        _check_range("oxygen flow", oxygen.flow_l_min, _OXYGEN_FLOW_RANGE_L_MIN, "L/min")
        if oxygen.flow_l_min == 0:
            raise WalkTestError("supplemental oxygen is recorded with a flow of 0 L/min")
        if not oxygen.device.strip():
            raise WalkTestError("supplemental oxygen is recorded without a device")


def _check_range(name: str, value: float, limits: tuple[float, float], unit: str) -> None:
    low, high = limits
    if not math.isfinite(value) or not low <= value <= high:
        raise WalkTestError(
            f"{name} {value} {unit} is outside the plausible range {low:g}-{high:g} {unit}"
        )
