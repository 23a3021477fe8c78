"""Which CTCAE lab grading applies to a LOINC-coded FHIR Observation, read from shipped data.

The codes are `safety/data/loinc/lab_codes.csv` (see its SOURCE.md): for every graded analyte
the serum/plasma, blood, mass and molar variants laboratories report under, each with the LOINC
part values (component, property, system) and the unit the code implies. One LOINC analyte can
feed several CTCAE terms (potassium: Hyperkalemia and Hypokalemia); the grader grades each and
the highest grade proposes the adverse event. `analyte` is the key shared by every code of one
analyte (creatinine in mg/dL or µmol/L, serum or blood), by which reference ranges are stated.
As OUTCOMES.md says for every code, validate them against the hospital's LOINC release before
go-live; an unmapped code is rejected, never guessed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Final

from safety.grading.lab import LOINC_TO_TERM
from safety.grading.lab_criteria import LabTerm
from safety.grading.units import parse_unit

_COLUMNS: Final = (
    "loinc",
    "terms",
    "analyte",
    "component",
    "property",
    "specimen",
    "unit",
    "long_name",
)


@dataclass(frozen=True)
class LabCode:
    """One LOINC code the grader accepts: what it measures, in what, and which terms it feeds."""

    loinc: str
    terms: tuple[LabTerm, ...]
    analyte: str
    component: str
    property: str
    specimen: str
    unit: str
    long_name: str


class LabCodeFileError(ValueError):
    """The shipped code table is malformed (a packaging defect, reported at first use)."""


def parse_lab_codes(text: str) -> tuple[LabCode, ...]:
    """The rows of a lab code table in the shipped CSV layout, checked."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise LabCodeFileError(f"columns must be {', '.join(_COLUMNS)}; got {reader.fieldnames}")
    codes: list[LabCode] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        code = row["loinc"].strip()
        if code in seen:
            raise LabCodeFileError(f"line {line}: LOINC {code} is listed twice")
        seen.add(code)
        try:
            terms = tuple(LabTerm[name.strip()] for name in row["terms"].split(";"))
        except KeyError as error:
            raise LabCodeFileError(f"line {line}: {error.args[0]} is not a LabTerm") from None
        unit = row["unit"].strip()
        try:
            parse_unit(unit)
        except ValueError as error:
            raise LabCodeFileError(f"line {line}: {error}") from None
        codes.append(
            LabCode(
                loinc=code,
                terms=terms,
                analyte=row["analyte"].strip(),
                component=row["component"].strip(),
                property=row["property"].strip(),
                specimen=row["specimen"].strip(),
                unit=unit,
                long_name=row["long_name"].strip(),
            )
        )
    return tuple(codes)


@cache
def lab_codes() -> tuple[LabCode, ...]:
    """Every shipped lab code, in the table's order (read once)."""
    resource = files("safety") / "data" / "loinc" / "lab_codes.csv"
    codes = parse_lab_codes(resource.read_text(encoding="utf-8"))
    by_code = {code.loinc: code for code in codes}
    # The grader's own blood-gas and PFT codes must agree with the table.
    for loinc, terms in LOINC_TO_TERM.items():
        shipped = by_code.get(loinc)
        if shipped is None or shipped.terms != terms:
            raise LabCodeFileError(f"LOINC {loinc} must map to {terms} as the grader does")
    return codes


_BY_CODE: Final[Mapping[str, LabCode]] = MappingProxyType({c.loinc: c for c in lab_codes()})

LOINC_TO_LAB_TERMS: Final[Mapping[str, tuple[LabTerm, ...]]] = MappingProxyType(
    {code: lab_code.terms for code, lab_code in _BY_CODE.items()}
)


def lab_code(code: str) -> LabCode | None:
    """The shipped description of a LOINC code, or None when the grader does not map it."""
    return _BY_CODE.get(code.strip())


def lab_terms_for(codes: list[str]) -> tuple[str, tuple[LabTerm, ...]] | None:
    """The first LOINC code with a CTCAE grading, and the lab terms it feeds."""
    for code in codes:
        terms = LOINC_TO_LAB_TERMS.get(code)
        if terms is not None:
            return code, terms
    return None


def codes_for_analyte(analyte: str) -> tuple[LabCode, ...]:
    """Every shipped code of one analyte (creatinine: serum, blood, mass and molar)."""
    return tuple(code for code in lab_codes() if code.analyte == analyte)


def codes_by_term() -> dict[LabTerm, tuple[LabCode, ...]]:
    """Each graded term with the codes that feed it, terms in the grader's order."""
    grouped: dict[LabTerm, list[LabCode]] = {}
    for code in lab_codes():
        for term in code.terms:
            grouped.setdefault(term, []).append(code)
    return {term: tuple(grouped[term]) for term in LabTerm if term in grouped}
