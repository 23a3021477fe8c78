"""A reported grade must exist for its CTCAE term; the error names the grades the term defines."""

from __future__ import annotations

import pytest

from safety.dictionary import shipped
from safety.dictionary.spreadsheet import read_ctcae
from safety.dictionary.terms import CtcaeDictionary
from safety.grading.validation import UndefinedGradeError, grade_problem, require_defined_grade


@pytest.fixture(scope="module")
def nci() -> CtcaeDictionary:
    return read_ctcae(shipped.workbook())


def test_hypoxia_grade_1_is_refused_naming_grades_2_to_5(nci: CtcaeDictionary) -> None:
    with pytest.raises(UndefinedGradeError) as caught:
        require_defined_grade(nci.term_named("Hypoxia"), 1, ctcae_version=nci.version)
    error = caught.value
    assert error.status == 422
    assert error.detail == (
        "CTCAE v5.0 term 'Hypoxia' (10021143) has no grade 1; it defines grade(s) 2, 3, 4, 5"
    )
    assert error.extra["defined_grades"] == [2, 3, 4, 5]
    assert error.to_problem()["type"] == "/problems/ctcae-grade-not-defined"


def test_respiratory_failure_grade_2_is_refused_naming_grades_4_and_5(
    nci: CtcaeDictionary,
) -> None:
    problem = grade_problem(nci.term_named("Respiratory failure"), 2, ctcae_version="5.0")
    assert problem is not None
    assert problem.defined_grades == (4, 5)
    assert "defines grade(s) 4, 5" in problem.message


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_every_grade_of_pneumonitis_is_accepted(nci: CtcaeDictionary, grade: int) -> None:
    assert grade_problem(nci.term_named("Pneumonitis"), grade, ctcae_version="5.0") is None
    require_defined_grade(nci.term_named("Pneumonitis"), grade, ctcae_version="5.0")


@pytest.mark.parametrize("grade", [0, 6, -1])
def test_numbers_outside_1_to_5_are_not_grades(nci: CtcaeDictionary, grade: int) -> None:
    problem = grade_problem(nci.term_named("Pneumonitis"), grade, ctcae_version="5.0")
    assert problem is not None
    assert problem.message == f"CTCAE grades are 1 to 5; {grade} is not a grade"


def test_every_dash_cell_of_the_sheet_is_refused(nci: CtcaeDictionary) -> None:
    refused = sum(
        grade_problem(term, grade, ctcae_version="5.0") is not None
        for term in nci
        for grade in (1, 2, 3, 4, 5)
    )
    # ctcae/SOURCE.md: 192 + 92 + 87 + 286 + 343 grade cells hold " -".
    assert refused == 192 + 92 + 87 + 286 + 343
