"""Laboratory unit spellings are recognised and converted exactly within one dimension."""

from __future__ import annotations

from decimal import Decimal

import pytest

from safety.grading import units as u

D = Decimal


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("x 10e9 /L", u.GIGA_PER_LITRE),  # NCI's own spelling of 10^9/L
        ("10^9/L", u.GIGA_PER_LITRE),
        ("10*3/uL", u.GIGA_PER_LITRE),
        ("/mm3", u.PER_CUBIC_MILLIMETRE),
        ("cells/µL", u.PER_CUBIC_MILLIMETRE),
        ("µmol/L", u.MICROMOLE_PER_LITRE),
        ("μmol/L", u.MICROMOLE_PER_LITRE),
        ("mEq/L", u.MILLIEQUIVALENT_PER_LITRE),
        ("mm Hg", u.MILLIMETRE_OF_MERCURY),
        ("°F", u.FAHRENHEIT),
        ("mL/min/1.73 m²", u.GFR_UNIT),
        ("", u.ONE),
        ("{INR}", u.ONE),
        ("g/24 h", u.GRAM_PER_DAY),
    ],
)
def test_laboratory_spellings_are_recognised(spelling: str, unit: u.Unit) -> None:
    assert u.parse_unit(spelling) == unit


def test_grams_per_litre_is_never_read_as_giga_per_litre() -> None:
    assert u.parse_unit("g/L") == u.GRAM_PER_LITRE
    with pytest.raises(u.UnknownUnitError):
        u.parse_unit("G/L")


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("1500", u.PER_CUBIC_MILLIMETRE, u.GIGA_PER_LITRE, "1.5"),
        ("10.0", u.GRAM_PER_DECILITRE, u.GRAM_PER_LITRE, "100"),
        ("50", u.MILLIGRAM_PER_DECILITRE, u.GRAM_PER_LITRE, "0.5"),
        ("1", u.MICROKATAL_PER_LITRE, u.UNIT_PER_LITRE, "60"),
        ("100.4", u.FAHRENHEIT, u.CELSIUS, "38.0"),
        ("104.0", u.FAHRENHEIT, u.CELSIUS, "40"),
        ("82.4", u.FAHRENHEIT, u.CELSIUS, "28"),
        ("40", u.CELSIUS, u.FAHRENHEIT, "104"),
        ("1", u.KILOPASCAL, u.MILLIMETRE_OF_MERCURY, "7.50062"),
        ("1", u.DLCO_SI, u.DLCO_TRADITIONAL, "2.986"),
        ("100", u.POUND, u.KILOGRAM, "45.359237"),
        ("0.88", u.ONE, u.PERCENT, "88"),
    ],
)
def test_conversions_within_a_dimension_are_exact(
    value: str, source: u.Unit, target: u.Unit, expected: str
) -> None:
    assert u.convert(D(value), source, target) == D(expected)


def test_a_temperature_difference_converts_without_the_offset() -> None:
    assert u.convert_difference(D("9"), u.FAHRENHEIT, u.CELSIUS) == D("5")


def test_mass_and_molar_concentrations_never_convert() -> None:
    with pytest.raises(ValueError, match="cannot convert"):
        u.convert(D("10"), u.MILLIGRAM_PER_DECILITRE, u.MILLIMOLE_PER_LITRE)
