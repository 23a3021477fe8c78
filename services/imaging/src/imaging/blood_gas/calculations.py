"""Arterial blood gas indices: P/F ratio, alveolar PO2, A–a gradient and its expected value for age.

All formulas are OUTCOMES.md §4.2:
- 1 kPa = 7.50062 mmHg; every pressure is converted to mmHg before any formula is applied.
- Alveolar gas equation, simplified (default): PAO2 = FiO2 × (Patm − PH2O) − PaCO2 / R;
  full form: PAO2 = FiO2 × (Patm − PH2O) − PaCO2 × [FiO2 + (1 − FiO2) / R];
  PH2O = 47 mmHg (37 °C), R = 0.8, Patm the measured barometric pressure (760 mmHg at sea level).
- A–a gradient = PAO2 − PaO2.
- Expected A–a for age, room air only: age/4 + 4 (default), (age + 10)/4, or 2.5 + 0.21 × age.
- P/F ratio = PaO2 (mmHg) / FiO2 (fraction).
- Henderson–Hasselbalch check: HCO3 = 0.0307 × PaCO2 (mmHg) × 10^(pH − 6.1).

The reference gives no rule to derive FiO2 from an oxygen device and flow, so FiO2 is always
required; the device is checked for consistency with it (room air means FiO2 0.21 and no flow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Final

# OUTCOMES.md §4.2
MMHG_PER_KPA: Final = 7.50062
STANDARD_BAROMETRIC_PRESSURE_MMHG: Final = 760.0
WATER_VAPOUR_PRESSURE_MMHG: Final = 47.0
RESPIRATORY_QUOTIENT: Final = 0.8
ROOM_AIR_FIO2: Final = 0.21
HENDERSON_HASSELBALCH_CO2_SOLUBILITY: Final = 0.0307
HENDERSON_HASSELBALCH_PK: Final = 6.1

# Plausibility limits, not clinical thresholds: they reject values no living patient can have,
# which is how a kPa value entered as mmHg (PaCO2 5.3) or a percent FiO2 entered as a fraction
# shows up.
_PH_RANGE: Final = (6.5, 8.0)
_PAO2_RANGE_MMHG: Final = (15.0, 800.0)
_PACO2_RANGE_MMHG: Final = (10.0, 200.0)
_HCO3_RANGE_MMOL_L: Final = (2.0, 70.0)
_BASE_EXCESS_RANGE_MMOL_L: Final = (-40.0, 40.0)
_SAO2_RANGE_PERCENT: Final = (0.0, 100.0)
_BAROMETRIC_RANGE_MMHG: Final = (350.0, 800.0)
_OXYGEN_FLOW_RANGE_L_MIN: Final = (0.0, 80.0)
_AGE_RANGE_YEARS: Final = (0.0, 120.0)
# Room air means FiO2 0.21, compared up to floating-point representation error.
_FIO2_TOLERANCE: Final = 1e-9


class BloodGasInputError(ValueError):
    """The blood gas values are incomplete, implausible or contradict each other."""


class PressureUnit(Enum):
    """Units accepted for gas pressures (UCUM codes)."""

    MMHG = "mm[Hg]"
    KPA = "kPa"


@dataclass(frozen=True)
class Pressure:
    """A partial or barometric pressure as reported by the laboratory."""

    value: float
    unit: PressureUnit

    @property
    def mmhg(self) -> float:
        if self.unit is PressureUnit.MMHG:
            return self.value
        return kpa_to_mmhg(self.value)


def kpa_to_mmhg(kpa: float) -> float:
    return kpa * MMHG_PER_KPA


def mmhg_to_kpa(mmhg: float) -> float:
    return mmhg / MMHG_PER_KPA


class Fio2Unit(Enum):
    """FiO2 is reported as a fraction (0.21–1.0) or as a percentage (21–100)."""

    FRACTION = "1"
    PERCENT = "%"


class OxygenDevice(Enum):
    """How oxygen was given when the sample was drawn."""

    ROOM_AIR = "room_air"
    NASAL_CANNULA = "nasal_cannula"
    SIMPLE_FACE_MASK = "simple_face_mask"
    VENTURI_MASK = "venturi_mask"
    NON_REBREATHER_MASK = "non_rebreather_mask"
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula"
    NON_INVASIVE_VENTILATION = "non_invasive_ventilation"
    INVASIVE_VENTILATION = "invasive_ventilation"
    OTHER = "other"


class AlveolarGasEquation(Enum):
    SIMPLIFIED = "simplified"
    FULL = "full"


class ExpectedAaGradientRule(Enum):
    """Published rules for the normal A–a gradient on room air (OUTCOMES.md §4.2)."""

    AGE_OVER_4_PLUS_4 = "age/4 + 4"
    AGE_PLUS_10_OVER_4 = "(age + 10)/4"
    # OUTCOMES.md §4.2 marks this one as unverified (Mellemgaard 1966).
    MELLEMGAARD_1966 = "2.5 + 0.21 × age"


@dataclass(frozen=True)
class BloodGasSample:
    """One arterial sample with the inspired oxygen it was drawn on."""

    ph: float
    pao2: Pressure
    paco2: Pressure
    fio2: float
    oxygen_device: OxygenDevice
    fio2_unit: Fio2Unit = Fio2Unit.FRACTION
    oxygen_flow_l_min: float | None = None
    hco3_mmol_l: float | None = None
    base_excess_mmol_l: float | None = None
    sao2_percent: float | None = None
    barometric_pressure: Pressure = Pressure(STANDARD_BAROMETRIC_PRESSURE_MMHG, PressureUnit.MMHG)


@dataclass(frozen=True)
class BloodGasAssessment:
    """The derived indices of one sample; every pressure in mmHg, FiO2 as a fraction."""

    pao2_mmhg: float
    paco2_mmhg: float
    fio2: float
    barometric_pressure_mmhg: float
    pf_ratio_mmhg: float
    alveolar_equation: AlveolarGasEquation
    alveolar_po2_mmhg: float
    aa_gradient_mmhg: float
    expected_aa_rule: ExpectedAaGradientRule
    expected_aa_gradient_mmhg: float | None
    expected_aa_unavailable_reason: str | None
    aa_gradient_above_expected: bool | None
    hco3_calculated_mmol_l: float
    hco3_measured_minus_calculated_mmol_l: float | None


def fio2_fraction(value: float, unit: Fio2Unit) -> float:
    """FiO2 as a fraction of 1, checked to lie between room air (0.21) and pure oxygen (1.0)."""
    fraction = value / 100.0 if unit is Fio2Unit.PERCENT else value
    if not math.isfinite(fraction) or not ROOM_AIR_FIO2 <= fraction <= 1.0:
        shown = "21–100 %" if unit is Fio2Unit.PERCENT else "0.21–1.0"
        raise BloodGasInputError(f"FiO2 {value} {unit.value} is outside {shown}")
    return fraction


def alveolar_po2_mmhg(
    *,
    fio2: float,
    paco2_mmhg: float,
    barometric_pressure_mmhg: float = STANDARD_BAROMETRIC_PRESSURE_MMHG,
    equation: AlveolarGasEquation = AlveolarGasEquation.SIMPLIFIED,
) -> float:
    """PAO2 by the alveolar gas equation (OUTCOMES.md §4.2)."""
    inspired_po2 = fio2 * (barometric_pressure_mmhg - WATER_VAPOUR_PRESSURE_MMHG)
    if equation is AlveolarGasEquation.SIMPLIFIED:
        return inspired_po2 - paco2_mmhg / RESPIRATORY_QUOTIENT
    return inspired_po2 - paco2_mmhg * (fio2 + (1.0 - fio2) / RESPIRATORY_QUOTIENT)


def expected_aa_gradient_mmhg(age_years: float, rule: ExpectedAaGradientRule) -> float:
    """The upper normal A–a gradient on room air for a patient of this age."""
    match rule:
        case ExpectedAaGradientRule.AGE_OVER_4_PLUS_4:
            return age_years / 4.0 + 4.0
        case ExpectedAaGradientRule.AGE_PLUS_10_OVER_4:
            return (age_years + 10.0) / 4.0
        case ExpectedAaGradientRule.MELLEMGAARD_1966:
            return 2.5 + 0.21 * age_years


def calculated_hco3_mmol_l(*, ph: float, paco2_mmhg: float) -> float:
    """Bicarbonate from pH and PaCO2 by Henderson–Hasselbalch (OUTCOMES.md §4.2)."""
    return (
        HENDERSON_HASSELBALCH_CO2_SOLUBILITY
        * paco2_mmhg
        * math.pow(10.0, ph - HENDERSON_HASSELBALCH_PK)
    )


def assess(
    sample: BloodGasSample,
    *,
    age_years: float | None,
    alveolar_equation: AlveolarGasEquation = AlveolarGasEquation.SIMPLIFIED,
    expected_aa_rule: ExpectedAaGradientRule = ExpectedAaGradientRule.AGE_OVER_4_PLUS_4,
) -> BloodGasAssessment:
    """Validate one sample and derive P/F, PAO2, A–a and the expected A–a for age."""
    _check_range("pH", sample.ph, _PH_RANGE, "")
    pao2 = _check_range("PaO2", sample.pao2.mmhg, _PAO2_RANGE_MMHG, "mmHg")
    paco2 = _check_range("PaCO2", sample.paco2.mmhg, _PACO2_RANGE_MMHG, "mmHg")
    barometric = _check_range(
        "barometric pressure", sample.barometric_pressure.mmhg, _BAROMETRIC_RANGE_MMHG, "mmHg"
    )
    if sample.hco3_mmol_l is not None:
        _check_range("HCO3", sample.hco3_mmol_l, _HCO3_RANGE_MMOL_L, "mmol/L")
    if sample.base_excess_mmol_l is not None:
        _check_range("base excess", sample.base_excess_mmol_l, _BASE_EXCESS_RANGE_MMOL_L, "mmol/L")
    if sample.sao2_percent is not None:
        _check_range("SaO2", sample.sao2_percent, _SAO2_RANGE_PERCENT, "%")
    if age_years is not None:
        _check_range("age", age_years, _AGE_RANGE_YEARS, "years")
    fio2 = fio2_fraction(sample.fio2, sample.fio2_unit)
    _check_oxygen_delivery(sample, fio2)

    inspired_po2 = fio2 * (barometric - WATER_VAPOUR_PRESSURE_MMHG)
    if pao2 > inspired_po2:
        raise BloodGasInputError(
            f"PaO2 {pao2:.1f} mmHg exceeds the inspired PO2 {inspired_po2:.1f} mmHg "
            f"(FiO2 {fio2}, barometric pressure {barometric:.1f} mmHg): check FiO2 and units"
        )
    alveolar = alveolar_po2_mmhg(
        fio2=fio2,
        paco2_mmhg=paco2,
        barometric_pressure_mmhg=barometric,
        equation=alveolar_equation,
    )
    if alveolar <= 0:
        raise BloodGasInputError(
            f"the alveolar gas equation gives PAO2 {alveolar:.1f} mmHg, which is impossible: "
            "check PaCO2, FiO2 and barometric pressure"
        )
    aa_gradient = alveolar - pao2

    expected: float | None = None
    unavailable_reason: str | None = None
    if age_years is None:
        unavailable_reason = "age not given"
    elif sample.oxygen_device is not OxygenDevice.ROOM_AIR:
        # OUTCOMES.md §4.2: the expected A–a is only meaningful on room air; it widens with FiO2.
        unavailable_reason = "expected A–a for age applies on room air only"
    else:
        expected = expected_aa_gradient_mmhg(age_years, expected_aa_rule)

    hco3_calculated = calculated_hco3_mmol_l(ph=sample.ph, paco2_mmhg=paco2)
    return BloodGasAssessment(
        pao2_mmhg=pao2,
        paco2_mmhg=paco2,
        fio2=fio2,
        barometric_pressure_mmhg=barometric,
        pf_ratio_mmhg=pao2 / fio2,
        alveolar_equation=alveolar_equation,
        alveolar_po2_mmhg=alveolar,
        aa_gradient_mmhg=aa_gradient,
        expected_aa_rule=expected_aa_rule,
        expected_aa_gradient_mmhg=expected,
        expected_aa_unavailable_reason=unavailable_reason,
        aa_gradient_above_expected=None if expected is None else aa_gradient > expected,
        hco3_calculated_mmol_l=hco3_calculated,
        hco3_measured_minus_calculated_mmol_l=(
            None if sample.hco3_mmol_l is None else sample.hco3_mmol_l - hco3_calculated
        ),
    )


def _check_range(name: str, value: float, limits: tuple[float, float], unit: str) -> float:
    low, high = limits
    if not math.isfinite(value) or not low <= value <= high:
        shown_unit = f" {unit}" if unit else ""
        raise BloodGasInputError(
            f"{name} {value}{shown_unit} is outside the plausible range {low}–{high}{shown_unit}"
        )
    return value


def _check_oxygen_delivery(sample: BloodGasSample, fio2: float) -> None:
    flow = sample.oxygen_flow_l_min
    if flow is not None:
        _check_range("oxygen flow", flow, _OXYGEN_FLOW_RANGE_L_MIN, "L/min")
    if sample.oxygen_device is OxygenDevice.ROOM_AIR:
        if abs(fio2 - ROOM_AIR_FIO2) > _FIO2_TOLERANCE:
            raise BloodGasInputError(f"the sample is marked room air but FiO2 is {fio2}")
        if flow:
            raise BloodGasInputError(
                f"the sample is marked room air but an oxygen flow of {flow} L/min is given"
            )
