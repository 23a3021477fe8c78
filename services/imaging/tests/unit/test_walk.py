"""Six-minute walk: Enright & Sherrill reference equations, LLN, SpO2 nadir, Borg, validation."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from imaging.walk.assessment import (
    SixMinuteWalkTest,
    SupplementalOxygen,
    WalkTestError,
    assess_walk,
)
from imaging.walk.reference import Sex, WalkEquation, WalkReferenceError, predicted_distance

MAN_60: dict[str, Any] = {"sex": Sex.MALE, "age_years": 60.0, "height_cm": 170.0, "weight_kg": 70.0}
WOMAN_60: dict[str, Any] = {
    "sex": Sex.FEMALE,
    "age_years": 60.0,
    "height_cm": 158.0,
    "weight_kg": 60.0,
}

WALK = SixMinuteWalkTest(
    distance_m=450.0,
    course_length_m=30.0,
    stops=1,
    spo2_before_percent=95.0,
    spo2_end_percent=90.0,
    spo2_lowest_percent=88.0,
    heart_rate_before_per_min=78,
    heart_rate_end_per_min=112,
    borg_dyspnoea_before=0.5,
    borg_dyspnoea_after=4.0,
    borg_fatigue_before=1.0,
    borg_fatigue_after=3.0,
)


@pytest.mark.parametrize(
    ("subject", "equation", "predicted", "lln"),
    [
        # OUTCOMES.md §3.1: 7.57·170 − 5.02·60 − 1.76·70 − 309 = 553.5 m; LLN − 153 m
        (MAN_60, WalkEquation.ENRIGHT_SHERRILL_1998, 553.5, 400.5),
        # 2.11·158 − 2.29·60 − 5.78·60 + 667 = 516.18 m; LLN − 139 m
        (WOMAN_60, WalkEquation.ENRIGHT_SHERRILL_1998, 516.18, 377.18),
        # 1140 − 5.61·(70 / 1.70²) − 6.94·60
        (MAN_60, WalkEquation.ENRIGHT_SHERRILL_1998_BMI, 1140 - 5.61 * 70 / 1.7**2 - 416.4, None),
        # 1017 − 6.24·(60 / 1.58²) − 5.83·60
        (
            WOMAN_60,
            WalkEquation.ENRIGHT_SHERRILL_1998_BMI,
            1017 - 6.24 * 60 / 1.58**2 - 349.8,
            None,
        ),
    ],
)
def test_enright_sherrill_predicted_distance_and_lln(
    subject: dict[str, Any], equation: WalkEquation, predicted: float, lln: float | None
) -> None:
    reference = predicted_distance(**subject, equation=equation)
    assert reference.predicted_m == pytest.approx(predicted, abs=1e-9)
    offset = 153.0 if subject["sex"] is Sex.MALE else 139.0
    assert reference.lln_m == pytest.approx(lln if lln is not None else predicted - offset)
    assert reference.extrapolated is False


def test_450_m_for_a_man_predicted_553_5_m_is_81_3_percent_and_above_the_lln() -> None:
    result = assess_walk(WALK, **MAN_60)
    assert result.percent_predicted == pytest.approx(100 * 450 / 553.5)
    assert round(result.percent_predicted, 1) == 81.3
    assert result.below_lln is False


def test_a_distance_under_the_lln_is_flagged() -> None:
    result = assess_walk(dataclasses.replace(WALK, distance_m=400.0), **MAN_60)
    assert result.below_lln is True


@pytest.mark.parametrize("age", [39.0, 80.5, 85.0])
def test_ages_outside_40_to_80_years_are_refused_unless_extrapolation_is_allowed(
    age: float,
) -> None:
    subject = {**MAN_60, "age_years": age}
    with pytest.raises(WalkReferenceError, match="outside the 40-80 years"):
        predicted_distance(**subject)
    reference = predicted_distance(**subject, allow_extrapolation=True)
    assert reference.extrapolated is True
    assert reference.predicted_m == pytest.approx(7.57 * 170 - 5.02 * age - 1.76 * 70 - 309)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"height_cm": 1.70}, "height 1.7 cm"),
        ({"weight_kg": 154.0 * 2.5}, "weight 385.0 kg"),
        ({"age_years": float("nan")}, "age nan years"),
    ],
)
def test_implausible_subjects_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(WalkReferenceError, match=re.escape(message)):
        predicted_distance(**{**MAN_60, **change})


def test_an_equation_that_predicts_no_distance_is_refused() -> None:
    heavy_old_short = {**MAN_60, "age_years": 100.0, "height_cm": 140.0, "weight_kg": 150.0}
    with pytest.raises(WalkReferenceError, match="a percent of predicted cannot be given"):
        predicted_distance(**heavy_old_short, allow_extrapolation=True)


def test_spo2_nadir_is_the_lowest_value_during_the_walk() -> None:
    result = assess_walk(WALK, **MAN_60)
    assert result.spo2_nadir_percent == 88.0
    assert result.spo2_drop_from_rest_percent == 7.0


def test_without_continuous_oximetry_the_nadir_is_the_end_of_test_value() -> None:
    result = assess_walk(dataclasses.replace(WALK, spo2_lowest_percent=None), **MAN_60)
    assert result.spo2_nadir_percent == 90.0
    assert result.spo2_drop_from_rest_percent == 5.0


def test_without_any_saturation_there_is_no_nadir() -> None:
    no_oximetry = dataclasses.replace(
        WALK, spo2_before_percent=None, spo2_end_percent=None, spo2_lowest_percent=None
    )
    result = assess_walk(no_oximetry, **MAN_60)
    assert result.spo2_nadir_percent is None
    assert result.spo2_drop_from_rest_percent is None


def test_lowest_spo2_above_the_end_value_is_a_contradiction() -> None:
    with pytest.raises(WalkTestError, match=re.escape("lowest SpO2 during the walk (92.0 %)")):
        assess_walk(dataclasses.replace(WALK, spo2_lowest_percent=92.0), **MAN_60)


def test_borg_and_heart_rate_changes_are_after_minus_before() -> None:
    result = assess_walk(WALK, **MAN_60)
    assert result.borg_dyspnoea_change == 3.5
    assert result.borg_fatigue_change == 2.0
    assert result.heart_rate_change_per_min == 34


def test_a_missing_borg_rating_leaves_its_change_unknown() -> None:
    result = assess_walk(dataclasses.replace(WALK, borg_fatigue_before=None), **MAN_60)
    assert result.borg_fatigue_change is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"borg_dyspnoea_after": 1.5}, "Borg dyspnoea after 1.5 is not on the modified Borg"),
        ({"borg_fatigue_before": 11.0}, "Borg fatigue before 11.0 is not on the modified Borg"),
        ({"borg_dyspnoea_before": -1.0}, "Borg dyspnoea before -1.0"),
        ({"distance_m": -5.0}, "distance -5.0 m"),
        ({"distance_m": 1640.0}, "distance 1640.0 m"),
        ({"course_length_m": 0.0}, "course length 0.0 m"),
        ({"stops": -1}, "stops -1 cannot be negative"),
        ({"spo2_before_percent": 0.95}, "SpO2 before 0.95 %"),
        ({"spo2_end_percent": 101.0}, "SpO2 at end 101.0 %"),
        ({"heart_rate_end_per_min": 300}, "heart rate at end 300 /min"),
        (
            {"supplemental_oxygen": SupplementalOxygen(flow_l_min=0.0, device="nasal cannula")},
            "flow of 0 L/min",
        ),
        (
            {"supplemental_oxygen": SupplementalOxygen(flow_l_min=2.0, device=" ")},
            "without a device",
        ),
    ],
)
def test_implausible_walk_records_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(WalkTestError, match=re.escape(message)):
        assess_walk(dataclasses.replace(WALK, **change), **MAN_60)


def test_a_walk_on_oxygen_keeps_the_oxygen_with_the_result() -> None:
    oxygen = SupplementalOxygen(flow_l_min=2.0, device="nasal cannula")
    result = assess_walk(dataclasses.replace(WALK, supplemental_oxygen=oxygen), **MAN_60)
    assert result.test.supplemental_oxygen == oxygen


def test_a_walk_of_zero_metres_is_recorded_and_below_the_lln() -> None:
    result = assess_walk(dataclasses.replace(WALK, distance_m=0.0, stops=0), **MAN_60)
    assert result.percent_predicted == 0.0
    assert result.below_lln is True
