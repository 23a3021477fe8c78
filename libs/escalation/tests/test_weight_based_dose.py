"""Weight-based dose (PROTOCOL.md): per-kg dose x weight, protocol rounding, optional cap."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from escalation import DoseRounding, InvalidWeightError, weight_based_dose

LEVEL_1 = Decimal("3.3E+5")  # cells/kg; PROTOCOL.md: 2.0 x 10^7 cells for a 60 kg patient
LEVEL_2 = Decimal("1.0E+6")


@pytest.mark.parametrize(
    ("per_kg", "weight", "dose"),
    [
        (LEVEL_1, 60, Decimal("1.98E+7")),
        (LEVEL_2, 60, Decimal("6.00E+7")),
        (LEVEL_1, "61.7", Decimal("2.04E+7")),
        (LEVEL_1, 61.7, Decimal("2.04E+7")),
        (LEVEL_1, Decimal("45.15"), Decimal("1.49E+7")),
        (Decimal(1), "12.25", Decimal("12.3")),  # half up, where half-even would give 12.2
        (Decimal(1), "350", Decimal(350)),
    ],
)
def test_dose_is_per_kg_dose_times_weight_to_three_significant_figures(
    per_kg: Decimal, weight: Decimal | str | float | int, dose: Decimal
) -> None:
    calculation = weight_based_dose(per_kg, weight)
    assert calculation.dose == dose
    assert not calculation.capped


def test_unrounded_product_is_exact() -> None:
    calculation = weight_based_dose(LEVEL_1, 61.7)
    assert calculation.unrounded == Decimal("20361000.0")
    assert calculation.weight_kg == Decimal("61.7")
    # Decimal(61.7) would carry the float's binary expansion into the product.
    assert calculation.unrounded != LEVEL_1 * Decimal.from_float(61.7)


def test_protocol_may_round_to_decimal_places_instead() -> None:
    rounding = DoseRounding(significant_figures=None, decimal_places=2)
    assert weight_based_dose(Decimal("0.5"), "70.25", rounding=rounding).dose == Decimal("35.13")


def test_cap_limits_the_dose_and_says_so() -> None:
    calculation = weight_based_dose(LEVEL_2, 120, cap=Decimal("1.0E+8"))
    assert (calculation.dose, calculation.capped) == (Decimal("1.0E+8"), True)
    assert calculation.unrounded == Decimal("1.2E+8")
    assert not weight_based_dose(LEVEL_2, 60, cap=Decimal("1.0E+8")).capped


def test_rounding_up_never_takes_the_dose_over_the_cap() -> None:
    calculation = weight_based_dose(Decimal(1), "99.96", cap=Decimal("99.99"))
    assert (calculation.dose, calculation.capped) == (Decimal("99.99"), True)


@pytest.mark.parametrize(
    ("weight", "fragment"),
    [
        (0, "must be more than 0 kg"),
        (-5, "must be more than 0 kg"),
        ("-0.1", "must be more than 0 kg"),
        ("350.01", "over 350 kg"),
        (1200, "over 350 kg"),
        ("abc", "not a number of kilograms"),
        ("70 kg", "not a number of kilograms"),
        ("", "not a number of kilograms"),
        ("nan", "not a number of kilograms"),
        (float("nan"), "not a number of kilograms"),
        (float("inf"), "not a number of kilograms"),
        (Decimal("Infinity"), "not a number of kilograms"),
        (True, "must be a number of kilograms"),
        (None, "must be a number of kilograms, not NoneType"),
    ],
)
def test_impossible_weight_is_refused_with_a_clear_error(weight: Any, fragment: str) -> None:
    with pytest.raises(InvalidWeightError, match=re.escape(fragment)):
        weight_based_dose(LEVEL_1, weight)


@pytest.mark.parametrize(
    ("significant_figures", "decimal_places", "fragment"),
    [
        (3, 2, "pass significant_figures=None"),
        (None, None, "set exactly one"),
        (0, None, "significant_figures must be a whole number from 1"),
        (None, -1, "decimal_places must be a whole number from 0"),
    ],
)
def test_rounding_rule_must_name_exactly_one_precision(
    significant_figures: int | None, decimal_places: int | None, fragment: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        DoseRounding(significant_figures=significant_figures, decimal_places=decimal_places)


@pytest.mark.parametrize(
    ("per_kg", "cap", "fragment"),
    [
        (0.33, None, "per_kg_dose must be a Decimal"),
        (Decimal(0), None, "per_kg_dose must be a positive finite number"),
        (Decimal("NaN"), None, "per_kg_dose must be a positive finite number"),
        (LEVEL_1, Decimal(-1), "cap must be a positive finite number"),
    ],
)
def test_per_kg_dose_and_cap_must_be_positive_exact_numbers(
    per_kg: Any, cap: Decimal | None, fragment: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        weight_based_dose(per_kg, 60, cap=cap)
