"""A pulmonary function test session: FEV1, FVC, FEV1/FVC and DLCO against their GLI references.

FEV1/FVC is computed from the FEV1 and FVC of the session, as a ratio (not a percentage).
DLCO is corrected for haemoglobin when Hb is given (OUTCOMES.md §2.2, Cotes; ERS/ATS 2017 DLCO
standard, Graham et al. ERJ 2017;49:1600016):
    corrected DLCO = measured DLCO × (K + Hb) / (1.7 × Hb),   Hb in g/dL,
    K = 10.22 for males aged 15 years or more, 9.38 for females and for children under 15,
and the corrected value is the one compared with the GLI-2017 reference. OUTCOMES.md marks the
factor as taken from calculator pages citing Cotes, to be confirmed in Graham et al. 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Final

from imaging.pft.reference import (
    Gli2012Ethnicity,
    PftParameter,
    PftReferenceError,
    ReferenceComparison,
    ReferenceEquation,
    Sex,
    Subject,
    compare_with_reference,
)

# ERS/ATS 2017 DLCO standard (Cotes): K of the haemoglobin correction.
HB_CORRECTION_K_MALE_FROM_15_YEARS: Final = 10.22
HB_CORRECTION_K_FEMALE_OR_CHILD: Final = 9.38
HB_CORRECTION_ADULT_MALE_FROM_AGE_YEARS: Final = 15.0
HB_CORRECTION_SLOPE: Final = 1.7

# Plausibility limits of haemoglobin: they catch g/L entered as g/dL and the reverse.
_HAEMOGLOBIN_RANGE_G_DL: Final = (3.0, 25.0)


class HaemoglobinUnit(Enum):
    G_DL = "g/dL"
    G_L = "g/L"


@dataclass(frozen=True)
class Haemoglobin:
    """Blood haemoglobin as reported by the laboratory (Chinese laboratories report g/L)."""

    value: float
    unit: HaemoglobinUnit

    @property
    def g_dl(self) -> float:
        return self.value / 10.0 if self.unit is HaemoglobinUnit.G_L else self.value


@dataclass(frozen=True)
class PftMeasurements:
    """The best values of one session; any of them may be absent."""

    fev1_l: float | None = None
    fvc_l: float | None = None
    transfer_factor: float | None = None
    transfer_factor_parameter: PftParameter = PftParameter.DLCO
    """DLCO (mL/min/mmHg) or TLCO (mmol/min/kPa): the unit the transfer factor is given in."""
    haemoglobin: Haemoglobin | None = None


@dataclass(frozen=True)
class TransferFactorResult:
    """The measured transfer factor, its Hb correction, and the corrected value's comparison."""

    measured: float
    haemoglobin_g_dl: float | None
    correction_factor: float | None
    corrected: float | None
    comparison: ReferenceComparison
    """Made with the corrected value when Hb was given, with the measured value otherwise."""


@dataclass(frozen=True)
class PftReport:
    fev1: ReferenceComparison | None
    fvc: ReferenceComparison | None
    fev1_fvc: ReferenceComparison | None
    transfer_factor: TransferFactorResult | None


def haemoglobin_correction_factor(*, haemoglobin_g_dl: float, sex: Sex, age_years: float) -> float:
    """(K + Hb) / (1.7 × Hb): multiply the measured DLCO by this to correct it for Hb."""
    low, high = _HAEMOGLOBIN_RANGE_G_DL
    if not math.isfinite(haemoglobin_g_dl) or not low <= haemoglobin_g_dl <= high:
        raise PftReferenceError(
            f"haemoglobin {haemoglobin_g_dl} g/dL is outside the plausible range "
            f"{low:g}-{high:g} g/dL"
        )
    adult_male = sex is Sex.MALE and age_years >= HB_CORRECTION_ADULT_MALE_FROM_AGE_YEARS
    k = HB_CORRECTION_K_MALE_FROM_15_YEARS if adult_male else HB_CORRECTION_K_FEMALE_OR_CHILD
    return (k + haemoglobin_g_dl) / (HB_CORRECTION_SLOPE * haemoglobin_g_dl)


def assess_pft(
    measurements: PftMeasurements,
    subject: Subject,
    *,
    spirometry_equation: ReferenceEquation = ReferenceEquation.GLI_GLOBAL_2022,
    ethnicity: Gli2012Ethnicity | None = None,
) -> PftReport:
    """Compare every value of the session with its reference.

    Spirometry uses `spirometry_equation` (GLI Global 2022 by default; GLI-2012 with `ethnicity`);
    the transfer factor uses GLI-2017, the only transfer factor equation offered.
    """
    if spirometry_equation is ReferenceEquation.GLI_2017_TRANSFER_FACTOR:
        raise PftReferenceError("GLI-2017 is a transfer factor equation, not a spirometry one")

    def spirometry(parameter: PftParameter, value: float | None) -> ReferenceComparison | None:
        if value is None:
            return None
        return compare_with_reference(
            parameter, value, subject, equation=spirometry_equation, ethnicity=ethnicity
        )

    fev1_fvc = None
    if measurements.fev1_l is not None and measurements.fvc_l is not None:
        if measurements.fvc_l <= 0:
            raise PftReferenceError(f"FVC {measurements.fvc_l} L must be positive")
        fev1_fvc = measurements.fev1_l / measurements.fvc_l
        if fev1_fvc > 1.0:
            raise PftReferenceError(
                f"FEV1 {measurements.fev1_l} L exceeds FVC {measurements.fvc_l} L; "
                "FEV1 is part of the forced vital capacity"
            )
    return PftReport(
        fev1=spirometry(PftParameter.FEV1, measurements.fev1_l),
        fvc=spirometry(PftParameter.FVC, measurements.fvc_l),
        fev1_fvc=spirometry(PftParameter.FEV1_FVC, fev1_fvc),
        transfer_factor=_transfer_factor(measurements, subject),
    )


def _transfer_factor(
    measurements: PftMeasurements, subject: Subject
) -> TransferFactorResult | None:
    measured = measurements.transfer_factor
    if measured is None:
        if measurements.haemoglobin is not None:
            raise PftReferenceError("haemoglobin is given but no transfer factor to correct")
        return None
    parameter = measurements.transfer_factor_parameter
    if not parameter.is_transfer_factor:
        raise PftReferenceError(f"{parameter.value} is not a transfer factor")
    if measurements.haemoglobin is None:
        comparison = compare_with_reference(
            parameter, measured, subject, equation=ReferenceEquation.GLI_2017_TRANSFER_FACTOR
        )
        return TransferFactorResult(
            measured=measured,
            haemoglobin_g_dl=None,
            correction_factor=None,
            corrected=None,
            comparison=comparison,
        )
    haemoglobin_g_dl = measurements.haemoglobin.g_dl
    factor = haemoglobin_correction_factor(
        haemoglobin_g_dl=haemoglobin_g_dl, sex=subject.sex, age_years=subject.age_years
    )
    corrected = measured * factor
    comparison = compare_with_reference(
        parameter, corrected, subject, equation=ReferenceEquation.GLI_2017_TRANSFER_FACTOR
    )
    return TransferFactorResult(
        measured=measured,
        haemoglobin_g_dl=haemoglobin_g_dl,
        correction_factor=factor,
        corrected=corrected,
        comparison=comparison,
    )
