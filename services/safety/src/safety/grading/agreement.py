"""Grade a CSV of cases and report, per CTCAE term, where Doseline differs from the expected grade.

A hospital validates Doseline against its own grading practice before go-live: one row per case
with the value, its unit, the expected grade and whatever the criterion reads (LLN, ULN,
baseline, clinical facts). Every row is graded by `grade_lab`; the report lists, per term, each
case whose grade differs, with NCI's criterion text beside it so a safety physician can decide
which reading is right. Unknown columns and fact names are refused by name, never ignored.

Columns: `term`, `value`, `unit`, `expected_grade` (0–5, or empty / `not gradable`) are
required; `lln`, `uln`, `baseline`, `baseline_normal`, `facts` (`name=value; …`, e.g.
`symptomatic=true; mi_level=45`), `case_id` and `note` are optional.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Final

from pydantic import TypeAdapter

from safety.grading.lab import (
    LabContext,
    LabGrade,
    LabInputError,
    UnknownLabTermError,
    grade_lab,
    resolve_lab_term,
)
from safety.grading.lab_criteria import CRITERIA, LabTerm

REQUIRED_COLUMNS: Final = ("term", "value", "unit", "expected_grade")
OPTIONAL_COLUMNS: Final = ("lln", "uln", "baseline", "baseline_normal", "facts", "case_id", "note")
_BOOLEAN_FACTS: Final = frozenset(f.name for f in fields(LabContext) if f.type == "bool | None")
_NUMBER_FACTS: Final = frozenset(f.name for f in fields(LabContext)) - _BOOLEAN_FACTS
# Builds a LabContext from the facts a case names, checking each against its field's type.
_LAB_CONTEXT: Final = TypeAdapter(LabContext)
_NOT_GRADABLE: Final = frozenset({"", "not gradable", "none", "null"})
MAX_CASES: Final = 20_000


class CaseFileError(ValueError):
    """The file cannot be read as grading cases; the message names the row and column."""


@dataclass(frozen=True)
class GradingCase:
    row: int
    case_id: str
    term: str
    value: Decimal
    unit: str
    expected_grade: int | None
    lln: Decimal | None
    uln: Decimal | None
    baseline: Decimal | None
    baseline_normal: bool | None
    context: LabContext
    note: str


@dataclass(frozen=True)
class CaseOutcome:
    case: GradingCase
    grade: int | None
    reason: str
    refused: bool = False


@dataclass(frozen=True)
class TermReport:
    """The cases of one CTCAE measurement where Doseline's grade is not the expected one."""

    term: LabTerm
    ctcae_term: str
    measurement: str
    criterion: tuple[str, ...]
    cases: int
    differing: tuple[CaseOutcome, ...]


@dataclass(frozen=True)
class AgreementReport:
    cases: int
    agreeing: int
    terms: tuple[TermReport, ...]
    unreadable: tuple[CaseOutcome, ...]

    @property
    def differing(self) -> int:
        return self.cases - self.agreeing


def criterion_text(term: LabTerm) -> tuple[str, ...]:
    """NCI's wording of every grade of a measurement, arm by arm, with the project's notes."""
    criteria = CRITERIA[term]
    lines = [
        f"Grade {rule.grade}: "
        + "; ".join(dict.fromkeys([a.text for a in rule.alternatives] + list(rule.clinical)))
        for rule in criteria.grades
    ]
    return (*lines, *(f"Note: {note}" for note in criteria.notes))


def _decimal(text: str, row: int, column: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise CaseFileError(f"row {row}, {column}: {text!r} is not a number") from None


def _boolean(text: str, row: int, column: str) -> bool | None:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if not text.strip():
        return None
    key = text.strip().lower()
    if key not in words:
        raise CaseFileError(f"row {row}, {column}: {text!r} is not true or false")
    return words[key]


def _context(text: str, row: int) -> LabContext:
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep:
            raise CaseFileError(f"row {row}, facts: {part!r} is not name=value")
        if name in _BOOLEAN_FACTS:
            values[name] = _boolean(raw, row, f"facts.{name}")
        elif name in _NUMBER_FACTS:
            values[name] = _decimal(raw, row, f"facts.{name}")
        else:
            known = ", ".join(sorted(_BOOLEAN_FACTS | _NUMBER_FACTS))
            raise CaseFileError(f"row {row}, facts: unknown fact {name!r}; the facts are {known}")
        if name in values and values[name] is None:
            raise CaseFileError(f"row {row}, facts.{name}: no value")
    return _LAB_CONTEXT.validate_python(values)


def _expected(text: str, row: int) -> int | None:
    if text.strip().lower() in _NOT_GRADABLE:
        return None
    if text.strip() not in {"0", "1", "2", "3", "4", "5"}:
        raise CaseFileError(f"row {row}, expected_grade: {text!r} is not 0-5 or 'not gradable'")
    return int(text)


def read_cases(text: str) -> list[GradingCase]:
    """The cases of a CSV file (first line: column names)."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise CaseFileError(f"the header lacks the column(s) {', '.join(missing)}")
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise CaseFileError(
            f"unknown column(s) {', '.join(unknown)}; the columns are "
            f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    cases: list[GradingCase] = []
    for row, raw in enumerate(reader, start=2):
        if len(cases) >= MAX_CASES:
            raise CaseFileError(f"more than {MAX_CASES} cases; split the file")
        record: Mapping[str, str] = {
            (k or "").strip(): (v or "") for k, v in raw.items() if isinstance(v, str | None)
        }
        if None in raw:
            raise CaseFileError(f"row {row} has more fields than the header")
        value = _decimal(record["value"], row, "value")
        if value is None:
            raise CaseFileError(f"row {row}, value: a value is required")
        cases.append(
            GradingCase(
                row=row,
                case_id=record.get("case_id", "").strip() or f"row {row}",
                term=record["term"].strip(),
                value=value,
                unit=record["unit"].strip(),
                expected_grade=_expected(record["expected_grade"], row),
                lln=_decimal(record.get("lln", ""), row, "lln"),
                uln=_decimal(record.get("uln", ""), row, "uln"),
                baseline=_decimal(record.get("baseline", ""), row, "baseline"),
                baseline_normal=_boolean(record.get("baseline_normal", ""), row, "baseline_normal"),
                context=_context(record.get("facts", ""), row),
                note=record.get("note", "").strip(),
            )
        )
    return cases


def grade_case(case: GradingCase) -> LabGrade:
    return grade_lab(
        case.term,
        case.value,
        case.unit,
        lln=case.lln,
        uln=case.uln,
        baseline=case.baseline,
        baseline_normal=case.baseline_normal,
        context=case.context,
    )


def agreement(cases: list[GradingCase]) -> AgreementReport:
    """Grade every case; per term, the cases whose grade is not the expected one."""
    by_term: dict[LabTerm, list[CaseOutcome]] = {}
    counts: dict[LabTerm, int] = {}
    unreadable: list[CaseOutcome] = []
    agreeing = 0
    for case in cases:
        try:
            term = resolve_lab_term(case.term)
        except UnknownLabTermError as error:
            unreadable.append(CaseOutcome(case, None, str(error), refused=True))
            continue
        counts[term] = counts.get(term, 0) + 1
        try:
            graded = grade_case(case)
            outcome = CaseOutcome(case, graded.grade, graded.reason)
        except LabInputError as error:
            outcome = CaseOutcome(case, None, f"refused: {error}", refused=True)
        if outcome.grade == case.expected_grade and not outcome.refused:
            agreeing += 1
        else:
            by_term.setdefault(term, []).append(outcome)
    terms = tuple(
        TermReport(
            term=term,
            ctcae_term=CRITERIA[term].ctcae_term,
            measurement=CRITERIA[term].measurement,
            criterion=criterion_text(term),
            cases=counts[term],
            differing=tuple(outcomes),
        )
        for term, outcomes in sorted(by_term.items(), key=lambda item: item[0].value)
    )
    return AgreementReport(
        cases=len(cases), agreeing=agreeing, terms=terms, unreadable=tuple(unreadable)
    )


def _shown(grade: int | None) -> str:
    return "not gradable" if grade is None else str(grade)


def render(report: AgreementReport) -> str:
    """The report as text, per term: each differing case and NCI's criterion."""
    lines = [
        f"{report.cases} cases: {report.agreeing} agree with the expected grade, "
        f"{report.differing} differ"
    ]
    for term in report.terms:
        lines += [
            "",
            f"== {term.ctcae_term} ({term.measurement}): {len(term.differing)} of "
            f"{term.cases} differ",
        ]
        lines += [f"   {text}" for text in term.criterion]
        for outcome in term.differing:
            case = outcome.case
            lines.append(
                f" - {case.case_id}: {case.value} {case.unit} expected "
                f"{_shown(case.expected_grade)}, Doseline {_shown(outcome.grade)}: {outcome.reason}"
            )
    if report.unreadable:
        lines += ["", "== Terms Doseline does not grade from numbers"]
        lines += [f" - {o.case.case_id}: {o.reason}" for o in report.unreadable]
    return "\n".join(lines)
