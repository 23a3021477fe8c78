"""Reference range rows as plain data: the shape, the checks and the choice of the row in force.

Shared by the shipped adult defaults and the sites' overrides, which obey the same rules.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Final

from safety.ehr.loinc import lab_codes
from safety.grading import units as u


class Sex(StrEnum):
    ANY = "any"
    FEMALE = "female"
    MALE = "male"


@dataclass(frozen=True)
class RangeRow:
    """One range: the analyte for a sex and an age band (`age_min ≤ age < age_max`)."""

    analyte: str
    sex: Sex
    age_min: int | None
    age_max: int | None
    low: Decimal | None
    high: Decimal | None
    unit: str
    source: str

    def applies_to_age(self, age_years: int) -> bool:
        return (self.age_min is None or self.age_min <= age_years) and (
            self.age_max is None or age_years < self.age_max
        )

    @property
    def any_age(self) -> bool:
        return self.age_min is None and self.age_max is None


@dataclass(frozen=True)
class RangeProblem:
    """What is wrong with one row: its index, the field, and what to fix."""

    index: int
    field: str
    message: str


def analyte_units() -> dict[str, tuple[u.Unit, ...]]:
    """Each analyte with the units of its LOINC codes (a range must convert to one of them)."""
    found: dict[str, list[u.Unit]] = {}
    for code in lab_codes():
        unit = u.parse_unit(code.unit)
        if unit not in found.setdefault(code.analyte, []):
            found[code.analyte].append(unit)
    return {analyte: tuple(units) for analyte, units in found.items()}


def _overlap(a: RangeRow, b: RangeRow) -> bool:
    sexes_meet = Sex.ANY in (a.sex, b.sex) or a.sex == b.sex
    a_min, b_min = a.age_min or 0, b.age_min or 0
    a_max = a.age_max if a.age_max is not None else 10**6
    b_max = b.age_max if b.age_max is not None else 10**6
    return sexes_meet and a_min < b_max and b_min < a_max


def problems(rows: Sequence[RangeRow]) -> list[RangeProblem]:
    """Every rule a set of ranges breaks: known analyte, a unit of the analyte's kind, low
    below high, ordered ages, and at most one range per analyte, sex and age."""
    known = analyte_units()
    found: list[RangeProblem] = []
    for index, row in enumerate(rows):
        units = known.get(row.analyte)
        if units is None:
            found.append(
                RangeProblem(
                    index,
                    "analyte",
                    f"{row.analyte!r} is not a graded analyte; use one of "
                    f"{', '.join(sorted(known))}",
                )
            )
        else:
            try:
                unit = u.parse_unit(row.unit)
            except u.UnknownUnitError as error:
                found.append(RangeProblem(index, "unit", str(error)))
            else:
                if not any(u.convertible(row.analyte, unit, target) for target in units):
                    accepted = ", ".join(str(target) for target in units)
                    found.append(
                        RangeProblem(
                            index,
                            "unit",
                            f"{row.unit!r} cannot measure {row.analyte}; "
                            f"use a unit like {accepted}",
                        )
                    )
        if row.low is None and row.high is None:
            found.append(RangeProblem(index, "high", "give low, high or both"))
        for name, number in (("low", row.low), ("high", row.high)):
            if number is not None and (not number.is_finite() or number < 0):
                found.append(RangeProblem(index, name, f"{number} is not a concentration"))
        if row.low is not None and row.high is not None and not row.low < row.high:
            found.append(
                RangeProblem(index, "high", f"high {row.high} must be above low {row.low}")
            )
        for name, age in (("age_min", row.age_min), ("age_max", row.age_max)):
            if age is not None and age < 0:
                found.append(RangeProblem(index, name, "an age in years is 0 or more"))
        if row.age_min is not None and row.age_max is not None and not row.age_min < row.age_max:
            found.append(
                RangeProblem(
                    index, "age_max", f"age_max {row.age_max} must be above age_min {row.age_min}"
                )
            )
        for earlier_index, earlier in enumerate(rows[:index]):
            if earlier.analyte == row.analyte and _overlap(earlier, row):
                found.append(
                    RangeProblem(
                        index,
                        "age_min",
                        f"overlaps range {earlier_index} of {row.analyte} ({earlier.sex}, ages "
                        f"{_band(earlier)}); one range per analyte, sex and age",
                    )
                )
    return found


def _band(row: RangeRow) -> str:
    low = "" if row.age_min is None else str(row.age_min)
    high = "" if row.age_max is None else str(row.age_max)
    return "any" if row.any_age else f"{low}–{high}"


@dataclass(frozen=True)
class Choice:
    """The row in force for a subject, or the fact that would decide it."""

    row: RangeRow | None
    missing: str | None


def choose(
    rows: Iterable[RangeRow], *, analyte: str, sex: Sex | None, age_years: int | None
) -> Choice:
    """The one row of `rows` (all of one analyte) that applies to the subject."""
    candidates = list(rows)
    by_sex = [row for row in candidates if row.sex is Sex.ANY or row.sex is sex]
    if not by_sex and candidates:
        if sex is None:
            return Choice(None, f"the subject's sex (the {analyte} range differs by sex)")
        return Choice(None, f"a reference range of {analyte} for {sex} subjects")
    if age_years is None:
        ageless = [row for row in by_sex if row.any_age]
        if ageless:
            return Choice(ageless[0], None)
        if by_sex:
            return Choice(None, f"the subject's age (the {analyte} range differs by age)")
    else:
        for row in by_sex:
            if row.applies_to_age(age_years):
                return Choice(row, None)
        if by_sex:
            return Choice(None, f"a reference range of {analyte} for age {age_years}")
    return Choice(None, None)


_COLUMNS: Final = ("analyte", "sex", "age_min", "age_max", "low", "high", "unit", "source")


class RangeFileError(ValueError):
    """The shipped range table is malformed (a packaging defect)."""


def _optional_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _optional_decimal(text: str) -> Decimal | None:
    return Decimal(text.strip()) if text.strip() else None


def parse_ranges(text: str) -> tuple[RangeRow, ...]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise RangeFileError(f"columns must be {', '.join(_COLUMNS)}; got {reader.fieldnames}")
    rows: list[RangeRow] = []
    for line, record in enumerate(reader, start=2):
        try:
            rows.append(
                RangeRow(
                    analyte=record["analyte"].strip(),
                    sex=Sex(record["sex"].strip()),
                    age_min=_optional_int(record["age_min"]),
                    age_max=_optional_int(record["age_max"]),
                    low=_optional_decimal(record["low"]),
                    high=_optional_decimal(record["high"]),
                    unit=record["unit"].strip(),
                    source=record["source"].strip(),
                )
            )
        except (ValueError, InvalidOperation) as error:
            raise RangeFileError(f"line {line}: {error}") from None
    broken = problems(rows)
    if broken:
        first = broken[0]
        raise RangeFileError(f"line {first.index + 2}: {first.field}: {first.message}")
    return tuple(rows)


@cache
def shipped_adult_ranges() -> tuple[RangeRow, ...]:
    """The shipped adult defaults (data/reference_ranges/adult.csv), read and checked once."""
    resource = files("safety") / "data" / "reference_ranges" / "adult.csv"
    return parse_ranges(resource.read_text(encoding="utf-8"))
