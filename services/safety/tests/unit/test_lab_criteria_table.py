"""The threshold table in the code says what the NCI CTCAE v5.0 sheet says, term by term."""

from __future__ import annotations

import re

import pytest

from doseline.testing.plugin import reference_file
from safety.dictionary import shipped
from safety.dictionary.spreadsheet import read_ctcae
from safety.dictionary.terms import CtcaeDictionary
from safety.grading import units as u
from safety.grading.lab import LOINC_TO_TERM, supported_terms
from safety.grading.lab_criteria import CRITERIA, LabCriteria, Measure, Reference

LAB_REFERENCE = "docs/CTCAE-LAB-GRADING.md"


@pytest.fixture(scope="module")
def nci() -> CtcaeDictionary:
    return read_ctcae(shipped.workbook())


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _fragments(text: str) -> list[str]:
    """Pieces of quoted NCI text: '...' marks an elision and ';' separates alternatives."""
    pieces = [piece for part in text.split("...") for piece in part.split(";")]
    return [_squash(piece) for piece in pieces if piece.strip()]


CRITERIA_LIST = list(CRITERIA.values())


@pytest.mark.parametrize("criteria", CRITERIA_LIST, ids=lambda c: c.term.value)
def test_term_name_and_meddra_code_are_nci_s(nci: CtcaeDictionary, criteria: LabCriteria) -> None:
    assert nci.term(criteria.meddra_code).name == criteria.ctcae_term


@pytest.mark.parametrize("criteria", CRITERIA_LIST, ids=lambda c: c.term.value)
def test_the_grades_are_exactly_those_nci_defines(
    nci: CtcaeDictionary, criteria: LabCriteria
) -> None:
    assert criteria.defined_grades == nci.term(criteria.meddra_code).defined_grades


@pytest.mark.parametrize("criteria", CRITERIA_LIST, ids=lambda c: c.term.value)
def test_every_quoted_text_is_nci_wording(nci: CtcaeDictionary, criteria: LabCriteria) -> None:
    term = nci.term(criteria.meddra_code)
    whole_row = _squash(" ".join(g.text for g in term.grades if g.text is not None))
    for rule in criteria.grades:
        own_cell = _squash(term.grade_text(rule.grade) or "")
        for alternative in rule.alternatives:
            for fragment in _fragments(alternative.text):
                assert fragment in whole_row, (rule.grade, alternative.text)
        for text in rule.clinical:
            for fragment in _fragments(text):
                assert fragment in own_cell, (rule.grade, text)


@pytest.mark.parametrize("criteria", CRITERIA_LIST, ids=lambda c: c.term.value)
def test_every_accepted_unit_meets_a_threshold_of_its_own_dimension(
    criteria: LabCriteria,
) -> None:
    for unit in criteria.units:
        working = u.MILLIMOLE_PER_LITRE if unit == u.MILLIEQUIVALENT_PER_LITRE else unit
        if unit == u.MILLIEQUIVALENT_PER_LITRE:
            assert criteria.valence is not None
        for rule in criteria.grades:
            written = [a.unit for a in rule.alternatives if a.unit is not None]
            if written:
                assert any(w.dimension is working.dimension for w in written), (unit, rule.grade)


@pytest.mark.parametrize("criteria", CRITERIA_LIST, ids=lambda c: c.term.value)
def test_absolute_thresholds_always_say_their_unit(criteria: LabCriteria) -> None:
    for rule in criteria.grades:
        for alternative in rule.alternatives:
            absolute = [
                c
                for c in alternative.comparisons
                if c.reference is Reference.NUMBER and c.measure.in_value_unit
            ]
            if absolute:
                assert alternative.unit is not None, alternative.text


def test_every_term_of_the_reference_table_is_supported() -> None:
    text = reference_file(LAB_REFERENCE).read_text(encoding="utf-8")
    table_codes = set(re.findall(r"^\| [A-Za-z]+ \| [^|]*\((\d{8})\)", text, flags=re.MULTILINE))
    assert len(table_codes) == 58
    assert table_codes == {term.meddra_code for term in supported_terms()}


def test_terms_graded_per_analyte_are_split_like_admiral() -> None:
    by_code: dict[str, list[str]] = {}
    for term in supported_terms():
        by_code.setdefault(term.ctcae_term, []).append(term.measurement)
    assert sorted(by_code["Hypercalcemia"]) == ["Corrected serum calcium", "Ionized calcium"]
    assert sorted(by_code["Hypertension"]) == [
        "Diastolic blood pressure",
        "Systolic blood pressure",
    ]


def test_loinc_codes_come_from_the_reference_and_map_to_supported_terms() -> None:
    outcomes = reference_file("docs/OUTCOMES.md").read_text(encoding="utf-8")
    for code, terms in LOINC_TO_TERM.items():
        assert code in outcomes
        assert terms
        assert all(term in CRITERIA for term in terms)
    listed = {code for term in supported_terms() for code in term.loinc_codes}
    assert listed == set(LOINC_TO_TERM)


def test_differences_are_measured_in_the_value_unit_and_percentages_are_unitless() -> None:
    for criteria in CRITERIA_LIST:
        for rule in criteria.grades:
            for alternative in rule.alternatives:
                for comparison in alternative.comparisons:
                    if comparison.measure in (
                        Measure.PERCENT_DECREASE_FROM_BASELINE,
                        Measure.PERCENT_INCREASE_FROM_BASELINE,
                    ):
                        assert comparison.reference is Reference.NUMBER
