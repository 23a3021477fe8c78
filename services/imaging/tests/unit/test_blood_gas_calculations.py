"""Arterial blood gas: unit conversion, alveolar gas equation, A–a gradient, P/F, validation."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from imaging.blood_gas.calculations import (
    MMHG_PER_KPA,
    AlveolarGasEquation,
    BloodGasInputError,
    BloodGasSample,
    ExpectedAaGradientRule,
    Fio2Unit,
    OxygenDevice,
    Pressure,
    PressureUnit,
    alveolar_po2_mmhg,
    assess,
    calculated_hco3_mmol_l,
    expected_aa_gradient_mmhg,
    fio2_fraction,
    kpa_to_mmhg,
    mmhg_to_kpa,
)


def mmhg(value: float) -> Pressure:
    return Pressure(value, PressureUnit.MMHG)


def kpa(value: float) -> Pressure:
    return Pressure(value, PressureUnit.KPA)


ROOM_AIR_SAMPLE = BloodGasSample(
    ph=7.40,
    pao2=mmhg(80.0),
    paco2=mmhg(40.0),
    fio2=0.21,
    oxygen_device=OxygenDevice.ROOM_AIR,
    hco3_mmol_l=24.0,
    base_excess_mmol_l=0.0,
    sao2_percent=96.0,
)


def test_room_air_at_sea_level_gives_alveolar_po2_99_73_and_a_a_gradient_19_73() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=60)
    assert result.alveolar_po2_mmhg == pytest.approx(99.73, abs=1e-9)
    assert result.aa_gradient_mmhg == pytest.approx(19.73, abs=1e-9)
    assert result.barometric_pressure_mmhg == 760.0


def test_p_f_ratio_is_pao2_over_fio2_fraction() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=60)
    assert result.pf_ratio_mmhg == pytest.approx(80.0 / 0.21)
    assert round(result.pf_ratio_mmhg) == 381


def test_full_alveolar_gas_equation_gives_101_83_for_the_same_sample() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=60, alveolar_equation=AlveolarGasEquation.FULL)
    assert result.alveolar_po2_mmhg == pytest.approx(101.83, abs=1e-9)
    assert result.alveolar_equation is AlveolarGasEquation.FULL


def test_one_kpa_is_7_50062_mmhg_both_ways() -> None:
    assert kpa_to_mmhg(1.0) == MMHG_PER_KPA == 7.50062
    assert mmhg_to_kpa(7.50062) == 1.0
    assert mmhg_to_kpa(kpa_to_mmhg(13.3)) == pytest.approx(13.3, rel=1e-15)


def test_a_sample_reported_in_kpa_gives_the_same_indices_as_in_mmhg() -> None:
    in_kpa = dataclasses.replace(
        ROOM_AIR_SAMPLE,
        pao2=kpa(80.0 / MMHG_PER_KPA),
        paco2=kpa(40.0 / MMHG_PER_KPA),
        barometric_pressure=kpa(760.0 / MMHG_PER_KPA),
    )
    in_mmhg = assess(ROOM_AIR_SAMPLE, age_years=60)
    converted = assess(in_kpa, age_years=60)
    assert converted.alveolar_po2_mmhg == pytest.approx(in_mmhg.alveolar_po2_mmhg, rel=1e-12)
    assert converted.aa_gradient_mmhg == pytest.approx(in_mmhg.aa_gradient_mmhg, rel=1e-12)
    assert converted.pf_ratio_mmhg == pytest.approx(in_mmhg.pf_ratio_mmhg, rel=1e-12)


def test_altitude_lowers_the_alveolar_po2() -> None:
    # OUTCOMES.md §4.2: Patm ≈ 610 mmHg at ~1900 m, PaCO2 36 on air → PAO2 ≈ 73 mmHg
    assert alveolar_po2_mmhg(
        fio2=0.21, paco2_mmhg=36.0, barometric_pressure_mmhg=610.0
    ) == pytest.approx(73.23, abs=1e-9)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (ExpectedAaGradientRule.AGE_OVER_4_PLUS_4, 19.0),
        (ExpectedAaGradientRule.AGE_PLUS_10_OVER_4, 17.5),
        (ExpectedAaGradientRule.MELLEMGAARD_1966, 15.1),
    ],
)
def test_expected_a_a_gradient_at_60_years(rule: ExpectedAaGradientRule, expected: float) -> None:
    assert expected_aa_gradient_mmhg(60, rule) == pytest.approx(expected, abs=1e-9)


def test_a_a_gradient_of_19_73_exceeds_the_expected_19_at_60_years() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=60)
    assert result.expected_aa_gradient_mmhg == pytest.approx(19.0)
    assert result.aa_gradient_above_expected is True


def test_a_a_gradient_of_19_73_is_within_the_expected_23_at_76_years() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=76)
    assert result.expected_aa_gradient_mmhg == pytest.approx(23.0)
    assert result.aa_gradient_above_expected is False


def test_expected_a_a_is_not_given_on_supplemental_oxygen() -> None:
    on_oxygen = dataclasses.replace(
        ROOM_AIR_SAMPLE,
        fio2=0.28,
        oxygen_device=OxygenDevice.VENTURI_MASK,
        pao2=mmhg(95.0),
    )
    result = assess(on_oxygen, age_years=60)
    assert result.expected_aa_gradient_mmhg is None
    assert result.aa_gradient_above_expected is None
    assert result.expected_aa_unavailable_reason == (
        "expected A–a for age applies on room air only"
    )
    assert result.aa_gradient_mmhg == pytest.approx(0.28 * 713 - 40 / 0.8 - 95.0)


def test_expected_a_a_needs_the_age() -> None:
    result = assess(ROOM_AIR_SAMPLE, age_years=None)
    assert result.expected_aa_gradient_mmhg is None
    assert result.expected_aa_unavailable_reason == "age not given"


def test_fio2_in_percent_is_divided_by_100() -> None:
    as_percent = dataclasses.replace(ROOM_AIR_SAMPLE, fio2=21.0, fio2_unit=Fio2Unit.PERCENT)
    assert assess(as_percent, age_years=60).fio2 == 0.21
    assert fio2_fraction(40.0, Fio2Unit.PERCENT) == 0.4


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (21.0, Fio2Unit.FRACTION),
        (0.2, Fio2Unit.FRACTION),
        (1.01, Fio2Unit.FRACTION),
        (0.21, Fio2Unit.PERCENT),
        (101.0, Fio2Unit.PERCENT),
        (float("nan"), Fio2Unit.FRACTION),
    ],
)
def test_fio2_outside_room_air_to_pure_oxygen_is_rejected(value: float, unit: Fio2Unit) -> None:
    with pytest.raises(BloodGasInputError, match="FiO2"):
        fio2_fraction(value, unit)


def test_room_air_with_a_higher_fio2_is_a_contradiction() -> None:
    with pytest.raises(BloodGasInputError, match=re.escape("marked room air but FiO2 is 0.3")):
        assess(dataclasses.replace(ROOM_AIR_SAMPLE, fio2=0.3), age_years=60)


def test_room_air_with_an_oxygen_flow_is_a_contradiction() -> None:
    with pytest.raises(BloodGasInputError, match=re.escape("oxygen flow of 2.0 L/min")):
        assess(dataclasses.replace(ROOM_AIR_SAMPLE, oxygen_flow_l_min=2.0), age_years=60)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ph": 74.0}, "pH 74.0"),
        ({"paco2": mmhg(5.3)}, "PaCO2 5.3 mmHg"),
        ({"pao2": mmhg(9.0)}, "PaO2 9.0 mmHg"),
        ({"pao2": kpa(80.0)}, "PaO2 600.0"),
        ({"barometric_pressure": mmhg(101.3)}, "barometric pressure 101.3 mmHg"),
        ({"hco3_mmol_l": 240.0}, "HCO3 240.0 mmol/L"),
        ({"base_excess_mmol_l": -45.0}, "base excess -45.0 mmol/L"),
        ({"sao2_percent": 101.0}, "SaO2 101.0 %"),
        ({"oxygen_flow_l_min": -1.0}, "oxygen flow -1.0 L/min"),
    ],
)
def test_implausible_values_are_rejected_with_the_field_named(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(BloodGasInputError, match=re.escape(message)):
        assess(dataclasses.replace(ROOM_AIR_SAMPLE, **change), age_years=60)


def test_pao2_above_the_inspired_po2_is_rejected() -> None:
    # 0.21 × (760 − 47) = 149.73 mmHg is the most oxygen room air can deliver.
    with pytest.raises(BloodGasInputError, match=re.escape("exceeds the inspired PO2 149.7 mmHg")):
        assess(dataclasses.replace(ROOM_AIR_SAMPLE, pao2=mmhg(160.0)), age_years=60)


def test_an_impossible_negative_alveolar_po2_is_rejected() -> None:
    sample = dataclasses.replace(
        ROOM_AIR_SAMPLE, paco2=mmhg(130.0), pao2=mmhg(20.0), barometric_pressure=mmhg(450.0)
    )
    with pytest.raises(BloodGasInputError, match=re.escape("PAO2 -77.9 mmHg, which is impossible")):
        assess(sample, age_years=60)


def test_age_outside_0_to_120_years_is_rejected() -> None:
    with pytest.raises(BloodGasInputError, match="age 160"):
        assess(ROOM_AIR_SAMPLE, age_years=160)


def test_henderson_hasselbalch_gives_24_5_at_ph_7_40_and_paco2_40() -> None:
    assert calculated_hco3_mmol_l(ph=7.40, paco2_mmhg=40.0) == pytest.approx(24.5, abs=0.05)
    result = assess(ROOM_AIR_SAMPLE, age_years=60)
    assert result.hco3_measured_minus_calculated_mmol_l == pytest.approx(
        24.0 - calculated_hco3_mmol_l(ph=7.40, paco2_mmhg=40.0)
    )


def test_measured_hco3_is_optional() -> None:
    result = assess(dataclasses.replace(ROOM_AIR_SAMPLE, hco3_mmol_l=None), age_years=60)
    assert result.hco3_measured_minus_calculated_mmol_l is None
