"""GLI reference values for spirometry and DLCO: predicted, % predicted, z-score, LLN, severity.

The GLI look-up tables and coefficients come from pyspiro (MIT; OUTCOMES.md §2.4): GLI Global 2022
(Bowerman et al., AJRCCM 2023;207:768-774; race-neutral, the default), GLI-2012 (Quanjer et al.,
ERJ 2012;40:1324-43; needs an ethnic group) and GLI-2017 transfer factor (Stanojevic et al., ERJ
2017;50:1700010 with the 2020 erratum; Caucasian reference). pyspiro gives L, M and S, with the
splines interpolated linearly between the quarter-year rows of the tables. From them, as
OUTCOMES.md §2.1 states the LMS method:
    % predicted = 100 × measured / M
    z   = ((measured / M)^L − 1) / (L × S)          (L = 0: z = ln(measured / M) / S)
    LLN = M × (1 − 1.645 × L × S)^(1/L)              (L = 0: M × exp(−1.645 × S))
    ULN = M × (1 + 1.645 × L × S)^(1/L)              (L = 0: M × exp(+1.645 × S))
Values are returned unrounded (pyspiro's own percent() rounds to 2 decimals; this does not).
Severity: ATS/ERS 2022 interpretive standard (Stanojevic et al., ERJ 2022;60:2101499), through
pyspiro's LF_SEVERITY_2022: normal z ≥ −1.645, mild ≥ −2.5, moderate ≥ −4.0, severe below.

Out of range inputs are errors: the equations are not extrapolated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib.metadata import version
from typing import Any, Final

# The 5th centile: the lower limit of normal (OUTCOMES.md §2.1).
LLN_Z: Final = 1.645


class PftReferenceError(ValueError):
    """The subject or value is outside what the reference equation supports."""


class Sex(Enum):
    FEMALE = "female"
    MALE = "male"


class PftParameter(Enum):
    """Measured quantities and the unit each is given in."""

    FEV1 = "FEV1"
    FVC = "FVC"
    FEV1_FVC = "FEV1/FVC"
    DLCO = "DLCO"
    """Transfer factor in traditional units, mL/min/mmHg."""
    TLCO = "TLCO"
    """Transfer factor in SI units, mmol/min/kPa."""

    @property
    def unit(self) -> str:
        return _UNITS[self]

    @property
    def is_transfer_factor(self) -> bool:
        return self in (PftParameter.DLCO, PftParameter.TLCO)


_UNITS: Final = {
    PftParameter.FEV1: "L",
    PftParameter.FVC: "L",
    PftParameter.FEV1_FVC: "1",
    PftParameter.DLCO: "mL/min/mmHg",
    PftParameter.TLCO: "mmol/min/kPa",
}


class ReferenceEquation(Enum):
    GLI_GLOBAL_2022 = "GLI Global 2022"
    GLI_2012 = "GLI-2012"
    GLI_2017_TRANSFER_FACTOR = "GLI-2017 TLCO"


class Gli2012Ethnicity(Enum):
    """GLI-2012 ethnic groups. OUTCOMES.md §2.2: Chinese subjects are North-East Asian north of
    the Huaihe/Qinling line and South-East Asian south of it (geographic split not re-verified)."""

    CAUCASIAN = 1
    AFRICAN_AMERICAN = 2
    NORTH_EAST_ASIAN = 3
    SOUTH_EAST_ASIAN = 4
    OTHER_OR_MIXED = 5


class Severity(Enum):
    """ATS/ERS 2022 severity of impairment by z-score."""

    NORMAL = "normal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


# Age ranges of the GLI look-up tables (OUTCOMES.md §2.2).
AGE_RANGE_YEARS: Final = {
    ReferenceEquation.GLI_GLOBAL_2022: (3.0, 95.0),
    ReferenceEquation.GLI_2012: (3.0, 95.0),
    ReferenceEquation.GLI_2017_TRANSFER_FACTOR: (5.0, 90.0),
}
# GLI publishes no height limits. These plausibility limits catch a height entered in metres or
# inches, which the equations would otherwise turn into a confident, wrong prediction.
HEIGHT_RANGE_CM: Final = (80.0, 250.0)
# Plausibility limits of the measured values: they catch mL entered as L, percent ratios.
_MEASURED_RANGE: Final = {
    PftParameter.FEV1: (0.1, 10.0),
    PftParameter.FVC: (0.1, 12.0),
    PftParameter.FEV1_FVC: (0.1, 1.0),
    PftParameter.DLCO: (0.5, 80.0),
    PftParameter.TLCO: (0.15, 27.0),
}


@dataclass(frozen=True)
class Subject:
    """What the GLI equations need to know about the person tested."""

    sex: Sex
    age_years: float
    height_cm: float


@dataclass(frozen=True)
class ReferenceComparison:
    """One measured value against its reference distribution, with the L, M, S used."""

    parameter: PftParameter
    measured: float
    equation: ReferenceEquation
    ethnicity: Gli2012Ethnicity | None
    implementation: str
    """The software and version that supplied the look-up tables, e.g. "pyspiro 1.0.0"."""
    lms_l: float
    lms_m: float
    lms_s: float
    percent_predicted: float
    z_score: float
    lln: float
    uln: float
    below_lln: bool
    severity: Severity

    @property
    def predicted(self) -> float:
        """The median of the reference distribution (M)."""
        return self.lms_m

    @property
    def unit(self) -> str:
        return self.parameter.unit


def compare_with_reference(
    parameter: PftParameter,
    measured: float,
    subject: Subject,
    *,
    equation: ReferenceEquation,
    ethnicity: Gli2012Ethnicity | None = None,
) -> ReferenceComparison:
    """Compare a measured value with the chosen GLI equation for this subject."""
    _check_equation(parameter, equation, ethnicity)
    _check_subject(subject, equation)
    low, high = _MEASURED_RANGE[parameter]
    if not math.isfinite(measured) or not low <= measured <= high:
        raise PftReferenceError(
            f"{parameter.value} {measured} {parameter.unit} is outside the plausible range "
            f"{low:g}-{high:g} {parameter.unit}"
        )
    lms_l, lms_m, lms_s = _lms(parameter, subject, equation, ethnicity)
    z_score = _z_score(measured, lms_l, lms_m, lms_s)
    return ReferenceComparison(
        parameter=parameter,
        measured=measured,
        equation=equation,
        ethnicity=ethnicity,
        implementation=f"pyspiro {version('pyspiro')}",
        lms_l=lms_l,
        lms_m=lms_m,
        lms_s=lms_s,
        percent_predicted=100.0 * measured / lms_m,
        z_score=z_score,
        lln=_centile(-LLN_Z, lms_l, lms_m, lms_s),
        uln=_centile(LLN_Z, lms_l, lms_m, lms_s),
        below_lln=z_score < -LLN_Z,
        severity=severity(z_score),
    )


def severity(z_score: float) -> Severity:
    """ATS/ERS 2022 severity band of a z-score, through pyspiro's LF_SEVERITY_2022."""
    label = _severity_classifier().classify(z=z_score)
    return _severity_by_pyspiro_label()[label]


def _z_score(measured: float, lms_l: float, lms_m: float, lms_s: float) -> float:
    if lms_l == 0:
        return math.log(measured / lms_m) / lms_s
    return (math.pow(measured / lms_m, lms_l) - 1.0) / (lms_l * lms_s)


def _centile(z_score: float, lms_l: float, lms_m: float, lms_s: float) -> float:
    if lms_l == 0:
        return lms_m * math.exp(z_score * lms_s)
    return lms_m * math.pow(1.0 + z_score * lms_l * lms_s, 1.0 / lms_l)


def _check_equation(
    parameter: PftParameter, equation: ReferenceEquation, ethnicity: Gli2012Ethnicity | None
) -> None:
    transfer_factor_equation = equation is ReferenceEquation.GLI_2017_TRANSFER_FACTOR
    if parameter.is_transfer_factor != transfer_factor_equation:
        raise PftReferenceError(f"{equation.value} has no reference values for {parameter.value}")
    if equation is ReferenceEquation.GLI_2012 and ethnicity is None:
        raise PftReferenceError("GLI-2012 needs the subject's ethnic group")
    if equation is not ReferenceEquation.GLI_2012 and ethnicity is not None:
        raise PftReferenceError(
            f"{equation.value} does not use an ethnic group; it was given {ethnicity.name}"
        )


def _check_subject(subject: Subject, equation: ReferenceEquation) -> None:
    low, high = AGE_RANGE_YEARS[equation]
    if not math.isfinite(subject.age_years) or not low <= subject.age_years <= high:
        raise PftReferenceError(
            f"age {subject.age_years} years is outside the {low:g}-{high:g} years "
            f"{equation.value} covers"
        )
    low, high = HEIGHT_RANGE_CM
    if not math.isfinite(subject.height_cm) or not low <= subject.height_cm <= high:
        raise PftReferenceError(
            f"height {subject.height_cm} cm is outside the plausible range {low:g}-{high:g} cm"
        )


def _lms(
    parameter: PftParameter,
    subject: Subject,
    equation: ReferenceEquation,
    ethnicity: Gli2012Ethnicity | None,
) -> tuple[float, float, float]:
    # pyspiro: sex 0 = female, 1 = male; height in cm; the measured value does not enter L, M, S.
    sex = 1 if subject.sex is Sex.MALE else 0
    age, height = subject.age_years, subject.height_cm
    lms: tuple[Any, Any, Any]
    match equation:
        case ReferenceEquation.GLI_GLOBAL_2022:
            code = _pyspiro_parameter_codes(equation)[parameter]
            lms = _gli_global_2022().lms(sex, age, height, code, None)
        case ReferenceEquation.GLI_2012:
            assert ethnicity is not None  # _check_equation
            code = _pyspiro_parameter_codes(equation)[parameter]
            lms = _gli_2012().lms(sex, age, height, ethnicity.value, code, None)
        case ReferenceEquation.GLI_2017_TRANSFER_FACTOR:
            code = _pyspiro_parameter_codes(equation)[parameter]
            lms = _gli_2017().lms(sex, age, height, code, None)
    if not all(isinstance(value, float) and math.isfinite(value) for value in lms):
        # pyspiro answers NA outside its tables; the range checks above should prevent it.
        raise PftReferenceError(
            f"{equation.value} gives no reference value for {parameter.value} at age "
            f"{subject.age_years} years, height {subject.height_cm} cm"
        )
    return float(lms[0]), float(lms[1]), float(lms[2])


# pyspiro imports pandas (seconds at a service's start): it loads with the first comparison.
@cache
def _pyspiro() -> Any:
    import pyspiro  # noqa: PLC0415

    return pyspiro


@cache
def _pyspiro_parameter_codes(equation: ReferenceEquation) -> dict[PftParameter, Any]:
    pyspiro = _pyspiro()
    match equation:
        case ReferenceEquation.GLI_GLOBAL_2022:
            codes = pyspiro.BOWERMAN_2022.Parameters
            return {
                PftParameter.FEV1: codes.FEV1.value,
                PftParameter.FVC: codes.FVC.value,
                PftParameter.FEV1_FVC: codes.FEV1FVC.value,
            }
        case ReferenceEquation.GLI_2012:
            codes = pyspiro.GLI_2012.Parameters
            return {
                PftParameter.FEV1: codes.FEV1.value,
                PftParameter.FVC: codes.FVC.value,
                PftParameter.FEV1_FVC: codes.FEV1FVC.value,
            }
        case ReferenceEquation.GLI_2017_TRANSFER_FACTOR:
            codes = pyspiro.GLI_2017.Parameters
            return {PftParameter.DLCO: codes.DLCO.value, PftParameter.TLCO: codes.TLCO.value}


@cache
def _severity_by_pyspiro_label() -> dict[Any, Severity]:
    labels = _pyspiro().LF_SEVERITY_2022
    return {
        labels.NORMAL: Severity.NORMAL,
        labels.MILD: Severity.MILD,
        labels.MODERATE: Severity.MODERATE,
        labels.SEVERE: Severity.SEVERE,
    }


# pyspiro reads its CSV tables when an equation object is built; build each one once.
@cache
def _gli_global_2022() -> Any:
    return _pyspiro().BOWERMAN_2022()


@cache
def _gli_2012() -> Any:
    return _pyspiro().GLI_2012()


@cache
def _gli_2017() -> Any:
    return _pyspiro().GLI_2017()


@cache
def _severity_classifier() -> Any:
    return _pyspiro().LF_SEVERITY_2022()
