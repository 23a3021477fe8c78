"""Grade one lab value against every CTCAE term its LOINC code feeds; the highest grade wins."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from safety.grading.lab import LabGrade, grade_lab
from safety.grading.lab_criteria import LabTerm
from safety.grading_assistance.schemas import LabFactsIn
from safety.grading_assistance.service import lab_context

RANGE_LIMITS = frozenset({"lln", "uln"})


class UngradableResult(ValueError):
    """The value cannot be graded at all (unit of the wrong kind, unknown unit)."""


class NeedsReferenceRange(UngradableResult):
    """The grade depends on the normal range and none is known: no grade is guessed."""

    def __init__(self, limits: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.limits = limits


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
    facts: LabFactsIn,
) -> LabVerdict:
    """Potassium feeds Hyperkalemia and Hypokalemia: at most one can grade ≥ 1 for a value."""
    results: list[LabGrade] = []
    problems: list[str] = []
    for term in terms:
        try:
            results.append(
                grade_lab(
                    term,
                    value,
                    unit,
                    lln=facts.lln,
                    uln=facts.uln,
                    baseline=facts.baseline,
                    baseline_normal=facts.baseline_normal,
                    context=lab_context(facts),
                )
            )
        except ValueError as error:
            problems.append(str(error))
    if not results:
        raise UngradableResult("; ".join(problems) or "not gradable")
    best, grade_, reason = _chosen(results)
    return LabVerdict(
        grade=grade_,
        term_name=best.ctcae_term,
        meddra_code=best.meddra_code,
        reason=reason,
        basis=_basis(best, results, value=value, unit=unit, facts=facts),
    )


def _chosen(results: list[LabGrade]) -> tuple[LabGrade, int | None, str]:
    """The term whose grade is proposed, the grade and why."""
    gradable = [r for r in results if r.grade is not None]
    undecided = [r for r in results if r.grade is None and r.possible_grades]
    if gradable and max(r.grade or 0 for r in gradable) >= 1:
        best = max(gradable, key=lambda r: r.grade or 0)
        return best, best.grade, best.reason
    if undecided:
        limits = tuple(
            sorted({name for r in undecided for name in r.missing if name in RANGE_LIMITS})
        )
        if limits:
            # A normal value must never be proposed as grade 4 because its range is unknown.
            raise NeedsReferenceRange(limits, "; ".join(r.reason for r in undecided))
        # The number alone cannot decide (a symptom, a duration): propose the worst possible
        # grade and say so; the investigator decides.
        best = max(undecided, key=lambda r: max(r.possible_grades))
        worst = max(best.possible_grades)
        return (
            best,
            worst,
            f"{best.reason}; proposed at the worst possible grade {worst} until the "
            f"investigator answers: {', '.join(best.missing) or 'the clinical criteria'}",
        )
    if gradable:
        return gradable[0], gradable[0].grade, gradable[0].reason
    raise UngradableResult("; ".join(r.reason for r in results))


def _basis(
    best: LabGrade, results: list[LabGrade], *, value: Decimal, unit: str, facts: LabFactsIn
) -> dict[str, Any]:
    return {
        "value": str(value),
        "unit": unit,
        "lln": str(facts.lln) if facts.lln is not None else None,
        "uln": str(facts.uln) if facts.uln is not None else None,
        "facts": facts.model_dump(mode="json", exclude_none=True),
        "ctcae_version": best.ctcae_version,
        "matched": best.matched,
        "assumptions": list(best.assumptions),
        "missing": list(best.missing),
        "possible_grades": list(best.possible_grades),
        "terms_graded": [
            {"term": r.ctcae_term, "grade": r.grade, "reason": r.reason} for r in results
        ],
    }
