"""The shipped adult ranges cover every analyte graded against LLN or ULN, obey the same rules
as a site's ranges, and one range at most applies to a subject."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from safety.ehr.loinc import lab_codes
from safety.grading.lab_criteria import CRITERIA, LabTerm, Reference
from safety.reference_ranges.ranges import (
    RangeFileError,
    RangeRow,
    Sex,
    choose,
    parse_ranges,
    problems,
    shipped_adult_ranges,
)

HEADER = "analyte,sex,age_min,age_max,low,high,unit,source\n"
# The upper reference limit of a troponin is its assay's 99th percentile: the site's to set.
ASSAY_SPECIFIC = {"troponin_i", "troponin_t"}


def _reads_normal_limits(term: LabTerm) -> bool:
    criteria = CRITERIA[term]
    return any(
        comparison.reference in (Reference.LLN, Reference.ULN)
        for rule in criteria.grades
        for alternative in rule.alternatives
        for comparison in alternative.comparisons
    )


def test_every_analyte_graded_against_lln_or_uln_has_a_shipped_adult_range() -> None:
    needed = {
        code.analyte
        for code in lab_codes()
        if any(_reads_normal_limits(term) for term in code.terms)
    }
    shipped = {row.analyte for row in shipped_adult_ranges()}
    assert needed - ASSAY_SPECIFIC <= shipped
    assert {"hemoglobin", "creatinine", "alt", "inr", "neutrophils"} <= shipped


def test_the_analytes_abim_splits_by_sex_ship_one_range_per_sex() -> None:
    for analyte in ("hemoglobin", "creatinine", "creatine_kinase", "ggt"):
        sexes = {row.sex for row in shipped_adult_ranges() if row.analyte == analyte}
        assert sexes == {Sex.FEMALE, Sex.MALE}, analyte


def test_every_shipped_range_is_abims_but_inr_whose_upper_limit_is_mayo_clinics() -> None:
    # ABIM's January 2026 table gives a prothrombin time but no INR interval (SOURCE.md).
    sources = {(row.analyte, row.source) for row in shipped_adult_ranges()}
    assert {source for _, source in sources} == {"ABIM 2026", "Mayo Clinic"}
    assert {analyte for analyte, source in sources if source == "Mayo Clinic"} == {"inr"}
    [inr] = [row for row in shipped_adult_ranges() if row.analyte == "inr"]
    assert (inr.low, inr.high) == (None, Decimal("1.1"))


def test_a_range_table_breaking_a_rule_is_refused_with_its_line() -> None:
    text = HEADER + "sodium,any,,,145,136,mmol/L,lab\n"
    with pytest.raises(RangeFileError, match="line 2: high: high 136 must be above low 145"):
        parse_ranges(text)


def _row(**overrides: Any) -> RangeRow:
    values: dict[str, Any] = {
        "analyte": "alt",
        "sex": Sex.ANY,
        "age_min": None,
        "age_max": None,
        "low": Decimal(7),
        "high": Decimal(35),
        "unit": "U/L",
        "source": "lab",
    }
    values.update(overrides)
    return RangeRow(**values)


def test_a_sex_specific_band_overlapping_an_any_sex_band_is_a_problem() -> None:
    found = problems([_row(age_max=65), _row(sex=Sex.MALE, age_min=60)])
    assert [(p.index, p.field) for p in found] == [(1, "age_min")]


def test_adjacent_age_bands_do_not_overlap() -> None:
    assert problems([_row(age_max=65), _row(age_min=65)]) == []


def test_a_band_ending_at_65_does_not_apply_at_65() -> None:
    rows = [_row(age_max=65, high=Decimal(35)), _row(age_min=65, high=Decimal(45))]
    chosen = choose(rows, analyte="alt", sex=Sex.MALE, age_years=65)
    assert chosen.row is not None
    assert chosen.row.high == 45


def test_a_female_only_range_says_what_is_missing_for_a_man() -> None:
    chosen = choose([_row(sex=Sex.FEMALE)], analyte="alt", sex=Sex.MALE, age_years=40)
    assert chosen.row is None
    assert chosen.missing == "a reference range of alt for male subjects"
