"""Units of the numbers CTCAE grades: recognise the spellings labs use and convert exactly.

`convert` works only between units of one dimension (a mass concentration to another mass
concentration), so every factor is a definition, not a measured property: powers of ten,
1 mm³ = 1 µL, 1 µkat = 60 U, 1 lb = 0.45359237 kg, °F = °C × 9/5 + 32. The two physical factors
come from the project's reference: 1 kPa = 7.50062 mmHg (OUTCOMES.md §4.2) and
1 mmol/min/kPa = 2.986 mL/min/mmHg for DLCO (OUTCOMES.md §3, "SI↔traditional … ln 2.986").
NCI writes conventional and SI thresholds side by side and a value is graded with its own
system's numbers. A laboratory's reference range or a baseline may still be stated in the other
system than today's value; `convert_analyte` bridges mass, molar and equivalent concentrations of
one named analyte by its molar mass (`MOLAR_MASSES`) and valence (`VALENCES`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Final


class Dimension(Enum):
    """What a unit measures; values convert only within one dimension."""

    NUMBER_CONCENTRATION = "number concentration"
    MASS_CONCENTRATION = "mass concentration"
    SUBSTANCE_CONCENTRATION = "substance concentration"
    EQUIVALENT_CONCENTRATION = "equivalent concentration"
    CATALYTIC_CONCENTRATION = "catalytic concentration"
    TEMPERATURE = "temperature"
    PRESSURE = "pressure"
    DIMENSIONLESS = "dimensionless"
    TIME = "time"
    VOLUME = "volume"
    BODY_MASS = "body mass"
    FILTRATION_RATE = "filtration rate per body surface"
    DIFFUSING_CAPACITY = "diffusing capacity"
    PROTEIN_EXCRETION = "protein excretion per day"
    DIPSTICK = "dipstick reading"


@dataclass(frozen=True)
class Unit:
    """A unit: its canonical code (UCUM where UCUM has one) and its size in the dimension's base.

    A value v in this unit is `v * factor` in the base unit; temperature alone has an offset.
    """

    code: str
    dimension: Dimension
    factor: Decimal

    def __str__(self) -> str:
        return self.code


class UnknownUnitError(ValueError):
    """A unit spelling the grader does not recognise."""


def _unit(code: str, dimension: Dimension, factor: str) -> Unit:
    return Unit(code, dimension, Decimal(factor))


_N = Dimension.NUMBER_CONCENTRATION
_M = Dimension.MASS_CONCENTRATION
_S = Dimension.SUBSTANCE_CONCENTRATION

# Base units: 10^9/L, g/L, mmol/L, mEq/L, U/L, °C, mm Hg, s, mL, kg,
# mL/min/1.73 m², mL/min/mm Hg, g/24 h, dipstick "+"; pure numbers are "1".
GIGA_PER_LITRE: Final = _unit("10*9/L", _N, "1")
PER_CUBIC_MILLIMETRE: Final = _unit("/mm3", _N, "0.001")  # 1 mm³ = 1 µL = 10⁻⁶ L
GRAM_PER_DECILITRE: Final = _unit("g/dL", _M, "10")
GRAM_PER_LITRE: Final = _unit("g/L", _M, "1")
MILLIGRAM_PER_DECILITRE: Final = _unit("mg/dL", _M, "0.01")
MILLIGRAM_PER_LITRE: Final = _unit("mg/L", _M, "0.001")
MICROGRAM_PER_LITRE: Final = _unit("ug/L", _M, "0.000001")
NANOGRAM_PER_LITRE: Final = _unit("ng/L", _M, "0.000000001")
MILLIMOLE_PER_LITRE: Final = _unit("mmol/L", _S, "1")
MICROMOLE_PER_LITRE: Final = _unit("umol/L", _S, "0.001")
MILLIEQUIVALENT_PER_LITRE: Final = _unit("meq/L", Dimension.EQUIVALENT_CONCENTRATION, "1")
UNIT_PER_LITRE: Final = _unit("U/L", Dimension.CATALYTIC_CONCENTRATION, "1")
MICROKATAL_PER_LITRE: Final = _unit("ukat/L", Dimension.CATALYTIC_CONCENTRATION, "60")
CELSIUS: Final = _unit("Cel", Dimension.TEMPERATURE, "1")
FAHRENHEIT: Final = _unit("[degF]", Dimension.TEMPERATURE, "1")
MILLIMETRE_OF_MERCURY: Final = _unit("mm[Hg]", Dimension.PRESSURE, "1")
KILOPASCAL: Final = _unit("kPa", Dimension.PRESSURE, "7.50062")  # OUTCOMES.md §4.2
# INR, pH and fractions are pure numbers; which of them a value is comes from the term graded,
# whose accepted units keep a percentage from being read as an INR.
ONE: Final = _unit("1", Dimension.DIMENSIONLESS, "1")
PERCENT: Final = _unit("%", Dimension.DIMENSIONLESS, "0.01")
SECOND: Final = _unit("s", Dimension.TIME, "1")
MILLISECOND: Final = _unit("ms", Dimension.TIME, "0.001")
MILLILITRE: Final = _unit("mL", Dimension.VOLUME, "1")
LITRE: Final = _unit("L", Dimension.VOLUME, "1000")
KILOGRAM: Final = _unit("kg", Dimension.BODY_MASS, "1")
POUND: Final = _unit("[lb_av]", Dimension.BODY_MASS, "0.45359237")  # international pound
GFR_UNIT: Final = _unit("mL/min/{1.73_m2}", Dimension.FILTRATION_RATE, "1")
DLCO_TRADITIONAL: Final = _unit("mL/min/mm[Hg]", Dimension.DIFFUSING_CAPACITY, "1")
DLCO_SI: Final = _unit("mmol/min/kPa", Dimension.DIFFUSING_CAPACITY, "2.986")  # OUTCOMES.md §3
GRAM_PER_DAY: Final = _unit("g/(24.h)", Dimension.PROTEIN_EXCRETION, "1")
MILLIGRAM_PER_DAY: Final = _unit("mg/(24.h)", Dimension.PROTEIN_EXCRETION, "0.001")
DIPSTICK_PLUS: Final = _unit("+", Dimension.DIPSTICK, "1")


def _key(text: str) -> str:
    """A spelling reduced for lookup: NFKC (µ→μ, ²→2, NBSP→space), micro as "u", no spaces,
    "×" as "x", case-folded. No two units of this module collide once case-folded."""
    folded = unicodedata.normalize("NFKC", text).replace("μ", "u").replace("×", "x")
    return "".join(folded.split()).casefold()


_SPELLINGS: Final[dict[Unit, tuple[str, ...]]] = {
    # NCI writes 10^9 as "10e9" (ctcae/SOURCE.md); UCUM writes it "10*9".
    GIGA_PER_LITRE: (
        "10*9/L",
        "10^9/L",
        "10e9/L",
        "x10e9/L",
        "x 10e9 /L",
        "x10^9/L",
        "10*3/uL",
        "10^3/uL",
        "x10^3/uL",
        "10e3/uL",
        "K/uL",
        "10*3/mm3",
        "10^3/mm3",
    ),
    PER_CUBIC_MILLIMETRE: ("/mm3", "/mm^3", "/uL", "cells/uL", "cells/mm3", "/cumm", "{cells}/uL"),
    GRAM_PER_DECILITRE: ("g/dL",),
    GRAM_PER_LITRE: ("g/L",),
    MILLIGRAM_PER_DECILITRE: ("mg/dL",),
    MILLIGRAM_PER_LITRE: ("mg/L",),
    MICROGRAM_PER_LITRE: ("ug/L", "ng/mL"),
    NANOGRAM_PER_LITRE: ("ng/L", "pg/mL"),
    MILLIMOLE_PER_LITRE: ("mmol/L",),
    MICROMOLE_PER_LITRE: ("umol/L",),
    MILLIEQUIVALENT_PER_LITRE: ("meq/L", "mEq/L"),
    UNIT_PER_LITRE: ("U/L", "IU/L", "[IU]/L"),
    MICROKATAL_PER_LITRE: ("ukat/L",),
    CELSIUS: ("Cel", "°C", "degC", "C", "degrees C", "deg C"),
    FAHRENHEIT: ("[degF]", "°F", "degF", "F", "degrees F", "deg F"),
    MILLIMETRE_OF_MERCURY: ("mm[Hg]", "mmHg", "mm Hg", "torr"),
    KILOPASCAL: ("kPa",),
    PERCENT: ("%",),
    ONE: ("", "{fraction}", "{ratio}", "ratio", "{INR}", "INR", "[pH]", "pH"),
    SECOND: ("s", "sec", "seconds"),
    MILLISECOND: ("ms", "msec"),
    MILLILITRE: ("mL",),
    LITRE: ("L",),
    KILOGRAM: ("kg",),
    POUND: ("[lb_av]", "lb", "lbs"),
    GFR_UNIT: ("mL/min/{1.73_m2}", "mL/min/1.73m2", "mL/min/1.73_m2", "mL/min/1.73m^2"),
    DLCO_TRADITIONAL: ("mL/min/mm[Hg]", "mL/min/mmHg"),
    DLCO_SI: ("mmol/min/kPa",),
    GRAM_PER_DAY: ("g/(24.h)", "g/24h", "g/24hrs", "g/24hr", "g/d", "g/day"),
    MILLIGRAM_PER_DAY: ("mg/(24.h)", "mg/24h", "mg/24hrs", "mg/24hr", "mg/d", "mg/day"),
    DIPSTICK_PLUS: ("+", "{+}", "plus"),
}

_BY_SPELLING: Final[dict[str, Unit]] = {}
for _unit_, _spellings in _SPELLINGS.items():
    for _spelling in (_unit_.code, *_spellings):
        _existing = _BY_SPELLING.setdefault(_key(_spelling), _unit_)
        if _existing is not _unit_:
            raise RuntimeError(f"unit spelling {_spelling!r} is ambiguous")


# "G/L" is giga per litre in French laboratories and would read as grams per litre once
# case-folded; it is refused rather than guessed.
_AMBIGUOUS: Final = frozenset({"G/L", "G/l"})


def parse_unit(text: str) -> Unit:
    """The unit a laboratory spelling means; `UnknownUnitError` if it is not recognised."""
    if "".join(text.split()) in _AMBIGUOUS:
        raise UnknownUnitError(f"unit {text!r} is ambiguous (giga or grams per litre)")
    unit = _BY_SPELLING.get(_key(text))
    if unit is None:
        raise UnknownUnitError(f"unit {text!r} is not recognised")
    return unit


def convert(value: Decimal, source: Unit, target: Unit) -> Decimal:
    """`value` in `source` expressed in `target` (same dimension only)."""
    if source.dimension is not target.dimension:
        raise ValueError(f"cannot convert {source} ({source.dimension.value}) to {target}")
    if source == target:
        return value
    if source.dimension is Dimension.TEMPERATURE:
        celsius = value if source == CELSIUS else (value - 32) * 5 / 9
        return celsius if target == CELSIUS else celsius * 9 / 5 + 32
    return value * source.factor / target.factor


def convert_difference(value: Decimal, source: Unit, target: Unit) -> Decimal:
    """A difference between two values (e.g. "units below LLN") converted; no offset applies."""
    if source.dimension is not target.dimension:
        raise ValueError(f"cannot convert {source} ({source.dimension.value}) to {target}")
    if source.dimension is Dimension.TEMPERATURE:
        if source == target:
            return value
        return value * 5 / 9 if target == CELSIUS else value * 9 / 5
    return value * source.factor / target.factor


# g/mol, the conventional clinical conversion factors (mg/dL × 10 ÷ g/mol = mmol/L). Triglycerides
# are reckoned as triolein (mmol/L × 88.57 = mg/dL); hemoglobin as the monomer, by the usual
# g/dL × 0.6206 = mmol/L (10 ÷ 0.0006206 g/mol). Calcium is NCI's own 40.08 (CTCAE ionized
# calcium, lab_criteria).
MOLAR_MASSES: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "creatinine": Decimal("113.12"),
        "glucose": Decimal("180.16"),
        "cholesterol": Decimal("386.65"),
        "triglycerides": Decimal("885.7"),
        "urate": Decimal("168.11"),
        "bilirubin": Decimal("584.66"),
        "magnesium": Decimal("24.305"),
        "calcium_ionized": Decimal("40.08"),
        "hemoglobin": Decimal(10) / Decimal("0.0006206"),
    }
)

# Charge per ion: mEq/L = mmol/L × valence.
VALENCES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "sodium": 1,
        "potassium": 1,
        "magnesium": 2,
        "calcium_ionized": 2,
    }
)


def convertible(analyte: str, source: Unit, target: Unit) -> bool:
    """Whether a concentration of `analyte` in `source` can be expressed in `target`."""
    if source.dimension is target.dimension:
        return True
    return (
        _to_millimoles(analyte, source) is not None and _to_millimoles(analyte, target) is not None
    )


def _to_millimoles(analyte: str, unit: Unit) -> Decimal | None:
    """mmol/L per one `unit` of this analyte, when the analyte's molar mass or valence allows."""
    if unit.dimension is Dimension.SUBSTANCE_CONCENTRATION:
        return convert(Decimal(1), unit, MILLIMOLE_PER_LITRE)
    if unit.dimension is Dimension.MASS_CONCENTRATION and analyte in MOLAR_MASSES:
        # 1 g/L ÷ (g/mol) = 1/M mol/L = 1000/M mmol/L.
        return convert(Decimal(1), unit, GRAM_PER_LITRE) * 1000 / MOLAR_MASSES[analyte]
    if unit.dimension is Dimension.EQUIVALENT_CONCENTRATION and analyte in VALENCES:
        return convert(Decimal(1), unit, MILLIEQUIVALENT_PER_LITRE) / VALENCES[analyte]
    return None


def convert_analyte(value: Decimal, source: Unit, target: Unit, *, analyte: str) -> Decimal:
    """`value` of `analyte` in `source` expressed in `target`: within one dimension exactly,
    across mass, molar and equivalent concentrations by the analyte's molar mass or valence."""
    if source.dimension is target.dimension:
        return convert(value, source, target)
    per_source, per_target = _to_millimoles(analyte, source), _to_millimoles(analyte, target)
    if per_source is None or per_target is None:
        raise ValueError(
            f"cannot convert {analyte} from {source} ({source.dimension.value}) to {target} "
            f"({target.dimension.value})"
        )
    return value * per_source / per_target
