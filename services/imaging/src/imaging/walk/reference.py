"""Predicted six-minute walk distance and its lower limit of normal (Enright & Sherrill 1998).

Enright PL, Sherrill DL. Reference equations for the six-minute walk in healthy adults.
Am J Respir Crit Care Med 1998;158:1384-7 (117 men, 173 women aged 40-80 years), as transcribed
in OUTCOMES.md §3.1:
- men:   6MWD (m) = 7.57 × height_cm − 5.02 × age − 1.76 × weight_kg − 309
- women: 6MWD (m) = 2.11 × height_cm − 2.29 × weight_kg − 5.78 × age + 667
- BMI forms: men 1140 − 5.61 × BMI − 6.94 × age; women 1017 − 6.24 × BMI − 5.83 × age
- LLN = predicted − 153 m (men), − 139 m (women). OUTCOMES.md marks these offsets as taken from
  the paper but not visible in the retrieved excerpts; they are applied to both forms.

The Chinese-population equations listed in OUTCOMES.md §3.1 (Zou 2017, 2020; Ngai 2014) are not
offered: their coefficients were not available in the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Final


class WalkReferenceError(ValueError):
    """The subject is outside what the reference equation supports, or the input is implausible."""


class Sex(Enum):
    FEMALE = "female"
    MALE = "male"


class WalkEquation(Enum):
    """Selectable reference equations for the six-minute walk distance."""

    ENRIGHT_SHERRILL_1998 = "enright_sherrill_1998"
    ENRIGHT_SHERRILL_1998_BMI = "enright_sherrill_1998_bmi"


# Enright & Sherrill 1998: the equations were derived in adults aged 40-80 years.
DERIVATION_AGE_RANGE_YEARS: Final = (40.0, 80.0)
LLN_OFFSET_M: Final = {Sex.MALE: 153.0, Sex.FEMALE: 139.0}

# Plausibility limits that catch unit errors (height in metres or inches, weight in pounds);
# the paper gives no height or weight range.
_HEIGHT_RANGE_CM: Final = (100.0, 250.0)
_WEIGHT_RANGE_KG: Final = (20.0, 300.0)


@dataclass(frozen=True)
class WalkReference:
    """The predicted distance for one subject, and how it was obtained."""

    equation: WalkEquation
    predicted_m: float
    lln_m: float
    extrapolated: bool
    """True when the subject's age lies outside the 40-80 years the equation was derived in."""


def predicted_distance(
    *,
    sex: Sex,
    age_years: float,
    height_cm: float,
    weight_kg: float,
    equation: WalkEquation = WalkEquation.ENRIGHT_SHERRILL_1998,
    allow_extrapolation: bool = False,
) -> WalkReference:
    """Predicted six-minute walk distance and LLN in metres.

    Outside the 40-80 years of the derivation sample the equation is an extrapolation: refused
    unless `allow_extrapolation` is set, and then flagged in the result.
    """
    _check_range("height", height_cm, _HEIGHT_RANGE_CM, "cm")
    _check_range("weight", weight_kg, _WEIGHT_RANGE_KG, "kg")
    low, high = DERIVATION_AGE_RANGE_YEARS
    if not math.isfinite(age_years) or age_years <= 0:
        raise WalkReferenceError(f"age {age_years} years is not a valid age")
    extrapolated = not low <= age_years <= high
    if extrapolated and not allow_extrapolation:
        raise WalkReferenceError(
            f"age {age_years} years is outside the {low:g}-{high:g} years the "
            f"{equation.value} equation was derived in"
        )

    if equation is WalkEquation.ENRIGHT_SHERRILL_1998:
        if sex is Sex.MALE:
            predicted = 7.57 * height_cm - 5.02 * age_years - 1.76 * weight_kg - 309.0
        else:
            predicted = 2.11 * height_cm - 2.29 * weight_kg - 5.78 * age_years + 667.0
    else:
        bmi = weight_kg / (height_cm / 100.0) ** 2
        if sex is Sex.MALE:
            predicted = 1140.0 - 5.61 * bmi - 6.94 * age_years
        else:
            predicted = 1017.0 - 6.24 * bmi - 5.83 * age_years
    if predicted <= 0:
        raise WalkReferenceError(
            f"the {equation.value} equation predicts {predicted:.1f} m for this subject; "
            "a percent of predicted cannot be given"
        )
    return WalkReference(
        equation=equation,
        predicted_m=predicted,
        lln_m=predicted - LLN_OFFSET_M[sex],
        extrapolated=extrapolated,
    )


def _check_range(name: str, value: float, limits: tuple[float, float], unit: str) -> None:
    low, high = limits
    if not math.isfinite(value) or not low <= value <= high:
        raise WalkReferenceError(
            f"{name} {value} {unit} is outside the plausible range {low:g}-{high:g} {unit}"
        )
