"""The project's NCI-derived cases all agree; the disagreement report names what differs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safety.__main__ import app as cli
from safety.grading.agreement import (
    CaseFileError,
    GradingCase,
    agreement,
    grade_case,
    read_cases,
    render,
)
from safety.grading.lab import LabContext, LabTerm, grade_lab
from safety.grading.lab_criteria import _INTEGER_RANGES, CRITERIA, LabCriteria, Reference

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "ctcae_v5_lab_cases.csv"
CASES = read_cases(CASES_FILE.read_text(encoding="utf-8"))
HEADER = "term,value,unit,expected_grade,lln,uln,baseline,facts,case_id\n"


def _arms_or_bands(criteria: LabCriteria) -> bool:
    """Several arms in one unit system, an arm that reads a baseline or a fact, integer bands."""
    alternatives = [a for rule in criteria.grades for a in rule.alternatives]
    several = any(
        len({a.unit for a in rule.alternatives}) < len(rule.alternatives)
        for rule in criteria.grades
    )
    qualified = any(
        a.requirements
        or any(
            c.reference is Reference.BASELINE or "baseline" in c.measure.value
            for c in a.comparisons
        )
        for a in alternatives
    )
    return several or qualified or _INTEGER_RANGES in criteria.notes


def test_the_case_file_covers_every_term_with_several_arms_a_baseline_or_integer_bands() -> None:
    needed = {c.term.value for c in CRITERIA.values() if _arms_or_bands(c)}
    assert needed - {case.term for case in CASES} == set()
    assert len(needed) >= 30
    assert len(CASES) >= 300


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.case_id)
def test_every_independent_case_gets_the_grade_nci_gives(case: GradingCase) -> None:
    graded = grade_case(case)
    assert graded.grade == case.expected_grade, graded.reason


def test_the_whole_case_file_agrees() -> None:
    report = agreement(CASES)
    assert (report.cases, report.agreeing, report.terms, report.unreadable) == (
        len(CASES),
        len(CASES),
        (),
        (),
    )


def test_a_differing_case_is_reported_under_its_term_with_the_criterion_text() -> None:
    text = (
        HEADER + "qtc_interval_prolonged,480.5,ms,1,,,470,,local-qtc-1\n"
        "anemia,9.5,g/dL,2,12,,,,local-hb-1\n"
        "headache,1,1,1,,,,,local-headache\n"
    )
    report = agreement(read_cases(text))
    assert (report.cases, report.agreeing) == (3, 1)
    (qtc,) = report.terms
    assert qtc.term is LabTerm.QTC_INTERVAL_PROLONGED
    assert qtc.criterion[:3] == (
        "Grade 1: Average QTc 450 - 480 ms",
        "Grade 2: Average QTc 481 - 500 ms",
        "Grade 3: Average QTc >= 501 ms; >60 ms change from baseline",
    )
    (differing,) = qtc.differing
    assert (differing.case.case_id, differing.grade) == ("local-qtc-1", 2)
    assert [o.case.case_id for o in report.unreadable] == ["local-headache"]
    printed = render(report)
    assert "local-qtc-1: 480.5 ms expected 1, Doseline 2" in printed
    assert "Grade 2: Average QTc 481 - 500 ms" in printed


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("term,value,unit\n", "lacks the column(s) expected_grade"),
        (HEADER.replace("case_id", "grade_given") + "anemia,9,g/dL,2,12,,,,\n", "grade_given"),
        (HEADER + "hypokalemia,3.1,mmol/L,1,3.5,,,symtomatic=false,x\n", "symtomatic"),
        (HEADER + "hypokalemia,3.1,mmol/L,six,3.5,,,,x\n", "expected_grade"),
        (HEADER + "hypokalemia,,mmol/L,1,3.5,,,,x\n", "value: a value is required"),
    ],
)
def test_an_unreadable_case_file_is_refused_naming_row_and_column(text: str, words: str) -> None:
    with pytest.raises(CaseFileError) as refused:
        read_cases(text)
    assert words in str(refused.value)


def test_a_refused_input_is_a_differing_case_with_the_reason() -> None:
    report = agreement(read_cases(HEADER + "hypokalemia,-3,mmol/L,4,3.5,,,,neg\n"))
    (term,) = report.terms
    (outcome,) = term.differing
    assert outcome.refused
    assert "value" in outcome.reason


def test_the_command_prints_the_report_and_fails_when_a_case_differs(tmp_path: Path) -> None:
    runner = CliRunner()
    agreeing = runner.invoke(cli, ["grading-agreement", str(CASES_FILE)])
    assert agreeing.exit_code == 0, agreeing.output
    assert f"{len(CASES)} cases: {len(CASES)} agree" in agreeing.output
    local = tmp_path / "local.csv"
    local.write_text(HEADER + "qtc_interval_prolonged,480.5,ms,1,,,470,,local-qtc-1\n")
    differing = runner.invoke(cli, ["grading-agreement", str(local)])
    assert differing.exit_code == 1
    assert "local-qtc-1: 480.5 ms expected 1, Doseline 2" in differing.output
    broken = tmp_path / "broken.csv"
    broken.write_text("term,value\n")
    assert runner.invoke(cli, ["grading-agreement", str(broken)]).exit_code == 2


# --- the readings the issue names, each as a decision a physician can see -----------------------

D = Decimal


def test_fibrinogens_lln_arm_applies_whatever_the_baseline_and_the_higher_arm_wins() -> None:
    # 0.275 x LLN is grade 3; the 'if abnormal' arm (8 % decrease) alone would say grade 1.
    graded = grade_lab(
        LabTerm.FIBRINOGEN_DECREASED, D("55"), "mg/dL", lln=D("200"), baseline=D("60")
    )
    assert graded.grade == 3
    assert graded.matched == "<0.5 - 0.25 x LLN"


def test_a_missing_baseline_that_could_only_raise_the_grade_leaves_the_values_own_grade() -> None:
    qtc = grade_lab(LabTerm.QTC_INTERVAL_PROLONGED, D("470"), "ms")
    assert (qtc.grade, qtc.possible_grades, qtc.missing) == (1, (1, 3), ("baseline",))
    assert "a baseline value could make it grade 3" in qtc.reason
    ef = grade_lab(LabTerm.EJECTION_FRACTION_DECREASED, D("45"), "%")
    assert (ef.grade, ef.possible_grades) == (2, (2, 3))
    normal_qtc = grade_lab(LabTerm.QTC_INTERVAL_PROLONGED, D("430"), "ms")
    assert (normal_qtc.grade, normal_qtc.possible_grades) == (0, (0, 3))


def test_without_any_baseline_free_arm_a_missing_baseline_leaves_the_term_not_gradable() -> None:
    weight = grade_lab(LabTerm.WEIGHT_LOSS, D("60"), "kg")
    assert weight.grade is None
    alt = grade_lab(LabTerm.ALANINE_AMINOTRANSFERASE_INCREASED, D("130"), "U/L", uln=D("40"))
    assert alt.grade is None
    assert "baseline" in alt.missing


def test_ionized_calcium_in_mg_dl_is_converted_by_4_008() -> None:
    # 4.0 mg/dL / 4.008 = 0.998 mmol/L: '<1.0 - 0.9 mmol/L', grade 2; 4.01 mg/dL = 1.0005 mmol/L.
    low = grade_lab(LabTerm.HYPOCALCEMIA_IONIZED_CALCIUM, D("4.0"), "mg/dL", lln=D("4.5"))
    assert low.grade == 2
    assert (
        grade_lab(LabTerm.HYPOCALCEMIA_IONIZED_CALCIUM, D("4.01"), "mg/dL", lln=D("4.5")).grade == 1
    )
    assert (
        grade_lab(LabTerm.HYPERCALCEMIA_IONIZED_CALCIUM, D("7.22"), "mg/dL", uln=D("5.3")).grade
        == 4
    )


def test_inr_on_anticoagulation_is_graded_against_baseline_not_the_absolute_arms() -> None:
    """Documented clinical decision: a literal reading would grade a therapeutic INR 2.6 as 3."""
    on_warfarin = grade_lab(
        LabTerm.INR_INCREASED,
        D("2.6"),
        "1",
        baseline=D("2.5"),
        context=LabContext(on_anticoagulation=True),
    )
    assert on_warfarin.grade == 1
    assert on_warfarin.matched == ">1 - 1.5 x baseline if on anticoagulation"
    off = grade_lab(
        LabTerm.INR_INCREASED, D("2.6"), "1", context=LabContext(on_anticoagulation=False)
    )
    assert off.grade == 3
