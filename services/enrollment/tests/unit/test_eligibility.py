"""Eligibility at screening: HDMSC-RP-01's criteria against answers and their evidence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from enrollment.protocol import Protocol
from enrollment.screening.eligibility import (
    Answer,
    Eligibility,
    EligibilityResult,
    FindingKind,
    UnknownCriterionError,
    assess_eligibility,
)

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]

SCREENED_ON = date(2026, 4, 20)
ALL_MET = {
    "INC-01": Answer(True),
    "INC-02": Answer(True, evidence_date=date(2026, 4, 15)),
    "INC-03": Answer(True, evidence_grade=2),
    "INC-04": Answer(True),
    "INC-05": Answer(64),
    "INC-06": Answer(True, evidence_date=date(2026, 4, 20)),
}


def screen(protocol: Protocol, **changes: Answer | None) -> EligibilityResult:
    answers = dict(ALL_MET)
    for criterion_id, answer in changes.items():
        key = criterion_id.replace("_", "-")
        if answer is None:
            del answers[key]
        else:
            answers[key] = answer
    return assess_eligibility(protocol.eligibility, answers, screened_on=SCREENED_ON)


def kinds(result: EligibilityResult) -> list[tuple[str, FindingKind]]:
    return [(finding.criterion_id, finding.kind) for finding in result.findings]


def test_a_subject_meeting_every_criterion_with_evidence_is_eligible(hdmsc: Protocol) -> None:
    result = screen(hdmsc)
    assert result.status is Eligibility.ELIGIBLE
    assert result.eligible
    assert result.findings == ()


@pytest.mark.parametrize("criterion_id", list(ALL_MET))
def test_an_unanswered_criterion_makes_screening_incomplete_not_ineligible(
    hdmsc: Protocol, criterion_id: str
) -> None:
    result = screen(hdmsc, **{criterion_id.replace("-", "_"): None})
    assert result.status is Eligibility.INCOMPLETE
    assert not result.eligible
    assert kinds(result) == [(criterion_id, FindingKind.MISSING_ANSWER)]
    assert result.findings[0].reason.endswith(": not answered")


def test_no_answers_at_all_gives_one_missing_finding_per_criterion(hdmsc: Protocol) -> None:
    result = assess_eligibility(hdmsc.eligibility, {}, screened_on=SCREENED_ON)
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [(cid, FindingKind.MISSING_ANSWER) for cid in ALL_MET]


@pytest.mark.parametrize("criterion_id", ["INC-01", "INC-02", "INC-03", "INC-04", "INC-06"])
def test_an_inclusion_criterion_answered_no_makes_the_subject_ineligible(
    hdmsc: Protocol, criterion_id: str
) -> None:
    # Evidence is not asked for a criterion that already failed.
    result = screen(hdmsc, **{criterion_id.replace("-", "_"): Answer(False)})
    assert result.status is Eligibility.INELIGIBLE
    assert kinds(result) == [(criterion_id, FindingKind.NOT_MET)]
    assert result.findings[0].reason.endswith("answered no; required")


def test_the_reason_names_the_criterion_and_its_text(hdmsc: Protocol) -> None:
    (finding,) = screen(hdmsc, INC_01=Answer(False)).findings
    assert finding.reason == "INC-01 (Received radiotherapy to the chest): answered no; required"


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (17, Eligibility.INELIGIBLE),
        (Decimal("17.99"), Eligibility.INELIGIBLE),
        (18, Eligibility.ELIGIBLE),
        (Decimal("18.0"), Eligibility.ELIGIBLE),
        (90, Eligibility.ELIGIBLE),
    ],
)
def test_adults_only_at_the_18_year_boundary(
    hdmsc: Protocol, age: int | Decimal, status: Eligibility
) -> None:
    assert screen(hdmsc, INC_05=Answer(age)).status is status


def test_an_under_age_subject_is_told_the_required_range(hdmsc: Protocol) -> None:
    (finding,) = screen(hdmsc, INC_05=Answer(17)).findings
    assert finding.kind is FindingKind.NOT_MET
    assert finding.reason.endswith("17 years is outside the required range (at least 18 years)")


@pytest.mark.parametrize(
    ("criterion_id", "value", "expected"),
    [
        ("INC-01", 1, "the answer must be yes or no, not 1"),
        ("INC-01", "yes", "the answer must be yes or no, not 'yes'"),
        ("INC-05", True, "the answer must be a number, not True"),
        ("INC-05", "64", "the answer must be a number, not '64'"),
        ("INC-05", Decimal("NaN"), "the answer must be a number, not Decimal('NaN')"),
        ("INC-05", 64.0, "the answer must be a number, not 64.0"),
    ],
)
def test_an_answer_of_the_wrong_type_makes_screening_incomplete(
    hdmsc: Protocol, criterion_id: str, value: Any, expected: str
) -> None:
    result = screen(hdmsc, **{criterion_id.replace("-", "_"): Answer(value)})
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [(criterion_id, FindingKind.INVALID_ANSWER)]
    assert result.findings[0].reason.endswith(expected)


# The diagnostic chest CT (INC-02) and the consent (INC-06) need a date.


@pytest.mark.parametrize("criterion_id", ["INC-02", "INC-06"])
def test_a_yes_without_its_date_is_incomplete(hdmsc: Protocol, criterion_id: str) -> None:
    result = screen(hdmsc, **{criterion_id.replace("-", "_"): Answer(True)})
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [(criterion_id, FindingKind.MISSING_EVIDENCE)]
    assert "is required" in result.findings[0].reason


@pytest.mark.parametrize("criterion_id", ["INC-02", "INC-06"])
def test_a_date_after_the_screening_date_is_refused_as_evidence(
    hdmsc: Protocol, criterion_id: str
) -> None:
    tomorrow = SCREENED_ON + timedelta(days=1)
    result = screen(hdmsc, **{criterion_id.replace("-", "_"): Answer(True, tomorrow)})
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [(criterion_id, FindingKind.INVALID_EVIDENCE)]
    assert result.findings[0].reason.endswith("2026-04-21 is after the screening date 2026-04-20")


def test_a_ct_on_the_screening_day_or_years_before_is_accepted_without_a_maximum_age(
    hdmsc: Protocol,
) -> None:
    assert screen(hdmsc, INC_02=Answer(True, SCREENED_ON)).eligible
    assert screen(hdmsc, INC_02=Answer(True, date(2020, 1, 1))).eligible


def test_a_date_and_time_is_not_a_calendar_date(hdmsc: Protocol) -> None:
    moment = datetime(2026, 4, 19, 10, 0)  # noqa: DTZ001
    result = screen(hdmsc, INC_02=Answer(True, evidence_date=moment))
    assert kinds(result) == [("INC-02", FindingKind.INVALID_EVIDENCE)]
    assert "must be a calendar date" in result.findings[0].reason


@pytest.mark.parametrize(
    ("days_before", "status"),
    [(0, Eligibility.ELIGIBLE), (28, Eligibility.ELIGIBLE), (29, Eligibility.INELIGIBLE)],
)
def test_a_protocol_limiting_the_ct_age_refuses_an_older_ct(
    amended: Amend, days_before: int, status: Eligibility
) -> None:
    def limit(document: Document) -> None:
        document["eligibility"]["inclusion"][1]["evidence"]["max_age_days"] = 28

    protocol = amended(limit)
    ct_on = SCREENED_ON - timedelta(days=days_before)
    result = screen(protocol, INC_02=Answer(True, ct_on))
    assert result.status is status
    if status is Eligibility.INELIGIBLE:
        assert kinds(result) == [("INC-02", FindingKind.EVIDENCE_TOO_OLD)]
        assert result.findings[0].reason.endswith(
            "2026-03-22 is 29 days before screening; at most 28 days are allowed"
        )


# Baseline Pneumonitis grade (INC-03), CTCAE v5.0.


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_baseline_pneumonitis_grades_1_to_4_are_accepted(hdmsc: Protocol, grade: int) -> None:
    assert screen(hdmsc, INC_03=Answer(True, evidence_grade=grade)).eligible


def test_baseline_grade_missing_is_incomplete(hdmsc: Protocol) -> None:
    result = screen(hdmsc, INC_03=Answer(True))
    assert kinds(result) == [("INC-03", FindingKind.MISSING_EVIDENCE)]
    assert result.status is Eligibility.INCOMPLETE


@pytest.mark.parametrize("grade", [0, 6, -1, True, "2", 2.0])
def test_a_value_that_is_no_ctcae_grade_is_refused_as_evidence(hdmsc: Protocol, grade: Any) -> None:
    result = screen(hdmsc, INC_03=Answer(True, evidence_grade=grade))
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [("INC-03", FindingKind.INVALID_EVIDENCE)]
    assert "must be a CTCAE grade from 1 to 5" in result.findings[0].reason


def test_baseline_grade_5_death_is_outside_the_accepted_grades(hdmsc: Protocol) -> None:
    result = screen(hdmsc, INC_03=Answer(True, evidence_grade=5))
    assert result.status is Eligibility.INELIGIBLE
    assert result.findings[0].reason.endswith(
        "Pneumonitis grade 5 is outside the grades this criterion accepts (1 to 4)"
    )


# Combinations and bad input.


def test_a_failed_criterion_makes_the_subject_ineligible_even_with_others_missing(
    hdmsc: Protocol,
) -> None:
    result = screen(hdmsc, INC_01=None, INC_03=Answer(True), INC_05=Answer(16))
    assert result.status is Eligibility.INELIGIBLE
    assert kinds(result) == [
        ("INC-01", FindingKind.MISSING_ANSWER),
        ("INC-03", FindingKind.MISSING_EVIDENCE),
        ("INC-05", FindingKind.NOT_MET),
    ]


def test_an_answer_to_a_criterion_the_protocol_lacks_is_an_error(hdmsc: Protocol) -> None:
    answers = {**ALL_MET, "EXC-09": Answer(False), "INC-99": Answer(True)}
    with pytest.raises(UnknownCriterionError, match="does not have: EXC-09, INC-99"):
        assess_eligibility(hdmsc.eligibility, answers, screened_on=SCREENED_ON)


@pytest.mark.parametrize(
    ("kind", "disqualifies"),
    [
        (FindingKind.NOT_MET, True),
        (FindingKind.EXCLUDED, True),
        (FindingKind.EVIDENCE_TOO_OLD, True),
        (FindingKind.MISSING_ANSWER, False),
        (FindingKind.INVALID_ANSWER, False),
        (FindingKind.MISSING_EVIDENCE, False),
        (FindingKind.INVALID_EVIDENCE, False),
    ],
)
def test_only_a_failed_criterion_disqualifies(kind: FindingKind, disqualifies: bool) -> None:
    assert kind.disqualifies is disqualifies


# Exclusion criteria (HDMSC-RP-01 has none; a protocol that has them).


def with_exclusions(document: Document) -> None:
    document["eligibility"]["exclusion"] = [
        {
            "id": "EXC-01",
            "text": "Pregnant or breastfeeding",
            "answer": "yes-no",
            "evidence": {"kind": "date", "label": "date of the negative pregnancy test"},
        },
        {
            "id": "EXC-02",
            "text": "Left ventricular ejection fraction",
            "answer": "number",
            "maximum": 40,
            "unit": "%",
        },
    ]


@pytest.fixture
def excluding(amended: Amend) -> Protocol:
    return amended(with_exclusions)


def test_no_exclusion_applying_keeps_the_subject_eligible(excluding: Protocol) -> None:
    result = screen(excluding, EXC_01=Answer(False, date(2026, 4, 18)), EXC_02=Answer(55))
    assert result.eligible


def test_an_exclusion_answered_yes_makes_the_subject_ineligible(excluding: Protocol) -> None:
    result = screen(excluding, EXC_01=Answer(True), EXC_02=Answer(55))
    assert result.status is Eligibility.INELIGIBLE
    assert kinds(result) == [("EXC-01", FindingKind.EXCLUDED)]
    assert result.findings[0].reason.endswith("answered yes; excludes the subject")


@pytest.mark.parametrize(("lvef", "excluded"), [(40, True), (Decimal("40.1"), False), (25, True)])
def test_a_number_in_the_excluded_range_excludes(
    excluding: Protocol, lvef: int | Decimal, excluded: bool
) -> None:
    result = screen(excluding, EXC_01=Answer(False, date(2026, 4, 18)), EXC_02=Answer(lvef))
    assert result.eligible is not excluded
    if excluded:
        assert result.findings[0].reason.endswith(
            f"{lvef} % is in the excluded range (at most 40 %)"
        )


def test_an_exclusion_answered_no_still_needs_its_evidence(excluding: Protocol) -> None:
    result = screen(excluding, EXC_01=Answer(False), EXC_02=Answer(55))
    assert result.status is Eligibility.INCOMPLETE
    assert kinds(result) == [("EXC-01", FindingKind.MISSING_EVIDENCE)]


def test_an_unanswered_exclusion_is_incomplete(excluding: Protocol) -> None:
    result = screen(excluding, EXC_02=Answer(55))
    assert kinds(result) == [("EXC-01", FindingKind.MISSING_ANSWER)]
    assert result.status is Eligibility.INCOMPLETE
