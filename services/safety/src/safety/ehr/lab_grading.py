"""Grade one lab value against every CTCAE term its LOINC code feeds; the highest grade wins."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from safety.grading.lab import LabGrade, grade_lab
from safety.grading.lab_criteria import LabTerm


class UngradableResult(ValueError):
    """The value cannot be graded at all (unit of the wrong kind, unknown unit)."""


@dataclass(frozen=True)
class LabVerdict:
    grade: int | None
    term_name: str
    meddra_code: str
    reason: str
    basis: dict[str, Any]


def grade(
    terms: tuple[LabTerm, ...],
    *,
    value: Decimal,
    unit: str,
    lln: Decimal | None,
    uln: Decimal | None,
) -> LabVerdict:
    """Potassium feeds Hyperkalemia and Hypokalemia: at most one can grade ≥ 1 for a value."""
    results: list[LabGrade] = []
    problems: list[str] = []
    for term in terms:
        try:
            results.append(grade_lab(term, value, unit, lln=lln, uln=uln))
        except ValueError as error:
            problems.append(str(error))
    if not results:
        raise UngradableResult("; ".join(problems) or "not gradable")
    best = max(results, key=lambda r: -1 if r.grade is None else r.grade)
    return LabVerdict(
        grade=best.grade,
        term_name=best.ctcae_term,
        meddra_code=best.meddra_code,
        reason=best.reason,
        basis={
            "value": str(value),
            "unit": unit,
            "lln": str(lln) if lln is not None else None,
            "uln": str(uln) if uln is not None else None,
            "ctcae_version": best.ctcae_version,
            "matched": best.matched,
            "assumptions": list(best.assumptions),
            "missing": list(best.missing),
            "possible_grades": list(best.possible_grades),
            "terms_graded": [
                {"term": r.ctcae_term, "grade": r.grade, "reason": r.reason} for r in results
            ],
        },
    )
