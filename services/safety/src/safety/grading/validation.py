"""Check a reported grade against the grades a CTCAE term defines (a "-" grade cannot be chosen)."""

from __future__ import annotations

from dataclasses import dataclass

from doseline.errors import InvalidInput
from safety.dictionary.terms import GRADES, CtcaeTerm
from safety.problems import CTCAE_GRADE_NOT_DEFINED


@dataclass(frozen=True)
class GradeProblem:
    """Why a grade cannot be recorded for a term, and which grades the term does define."""

    ctcae_version: str
    meddra_code: str
    term_name: str
    grade: int
    defined_grades: tuple[int, ...]

    @property
    def message(self) -> str:
        defined = ", ".join(str(g) for g in self.defined_grades)
        if self.grade not in GRADES:
            return f"CTCAE grades are 1 to 5; {self.grade} is not a grade"
        # CTCAE v5.0 front matter: "-" means the grade is not available for the term.
        return (
            f"CTCAE v{self.ctcae_version} term {self.term_name!r} ({self.meddra_code}) has no "
            f"grade {self.grade}; it defines grade(s) {defined}"
        )


class UndefinedGradeError(InvalidInput):
    """A grade the term does not define was reported (rendered as 422 problem+json)."""

    default_problem = CTCAE_GRADE_NOT_DEFINED

    def __init__(self, problem: GradeProblem) -> None:
        super().__init__(
            problem.message,
            extra={
                "ctcae_version": problem.ctcae_version,
                "meddra_code": problem.meddra_code,
                "term": problem.term_name,
                "grade": problem.grade,
                "defined_grades": list(problem.defined_grades),
            },
        )
        self.problem = problem


def grade_problem(term: CtcaeTerm, grade: int, *, ctcae_version: str) -> GradeProblem | None:
    """None when `term` defines `grade`; otherwise the problem naming the grades it defines."""
    if grade in GRADES and term.defines(grade):
        return None
    return GradeProblem(
        ctcae_version=ctcae_version,
        meddra_code=term.meddra_code,
        term_name=term.name,
        grade=grade,
        defined_grades=term.defined_grades,
    )


def require_defined_grade(term: CtcaeTerm, grade: int, *, ctcae_version: str) -> None:
    """Raise `UndefinedGradeError` unless `term` defines `grade`."""
    problem = grade_problem(term, grade, ctcae_version=ctcae_version)
    if problem is not None:
        raise UndefinedGradeError(problem)
