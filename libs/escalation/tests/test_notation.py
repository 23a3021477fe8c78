"""The outcome-string notation (CASES.md grammar, §E8-§E10): parse, format, error positions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation import Cohort, OutcomeParseError, format_outcomes, parse_outcomes


def patients(text: str) -> tuple[list[int], list[int]]:
    cohorts = parse_outcomes(text)
    doses = [cohort.dose for cohort in cohorts for _ in cohort.outcomes]
    dlts = [int(dlt) for cohort in cohorts for dlt in cohort.outcomes]
    return doses, dlts


@pytest.mark.parametrize(
    ("text", "doses", "dlts"),
    [
        ("", [], []),
        ("   ", [], []),
        ("5T", [5], [1]),
        ("1N2T2N2N2N", [1, 2, 2, 2, 2], [0, 1, 0, 0, 0]),
        (
            " 1NTT 2T 2NTNNTN 2N",
            [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2],
            [0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0],
        ),
        (
            "96NTT 40T 1NTNNTN 174N",
            [96] * 3 + [40] + [1] * 6 + [174],
            [0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0],
        ),
        (
            "1NTT 2T 2NTNNTN 3N",
            [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3],
            [0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0],
        ),
        ("\t1NNN\n2NTN ", [1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 1, 0]),
    ],
)
def test_valid_outcome_strings_give_each_patient_a_dose_and_an_outcome(
    text: str, doses: list[int], dlts: list[int]
) -> None:
    assert patients(text) == (doses, dlts)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("12NTT Nigel Farage", 6, "expected a dose level"),
        (".1NTT 2T 2NTNNTN 2N", 0, "expected a dose level"),
        ("1NTT 2.0T 2NTNNTN 2N", 6, "not a whole number"),
        ("12NTT 2T 2NTNNTN -1N", 17, "expected a dose level"),
        ("1NNN 0N", 5, "strictly positive"),
        ("1NNN 2", 6, "has no outcomes"),
        ("1NTx", 3, "unexpected 'x'"),
        ("1ntt", 1, "upper-case N (no DLT) or T (DLT)"),
        ("N", 0, "expected a dose level"),
        ("1NNN " + "9" * 5000 + "N", 5, "more than 9 digits"),
    ],
)
def test_invalid_outcome_string_error_says_what_and_where(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(OutcomeParseError) as refused:
        parse_outcomes(text)
    assert refused.value.position == position
    assert fragment in str(refused.value)
    assert f"position {position}" in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_formatting_writes_one_space_between_cohorts_and_dlts_as_t() -> None:
    cohorts = (Cohort(1, (False, False, False)), Cohort(2, (True, False, False)))
    assert format_outcomes(cohorts) == "1NNN 2TNN"
    assert format_outcomes(parse_outcomes("1N2T")) == "1N 2T"
    assert format_outcomes(()) == ""


@pytest.mark.parametrize(
    ("dose", "outcomes"),
    [(0, (False,)), (-1, (True,)), (True, (False,)), (1, ()), (1, (0,))],
)
def test_cohort_refuses_impossible_dose_or_outcomes(dose: Any, outcomes: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="cohort"):
        Cohort(dose, outcomes)


cohorts = st.lists(
    st.builds(
        Cohort,
        dose=st.integers(min_value=1, max_value=120),
        outcomes=st.lists(st.booleans(), min_size=1, max_size=7).map(tuple),
    ),
    max_size=8,
).map(tuple)


@given(cohorts)
def test_parsing_a_formatted_history_gives_it_back(history: tuple[Cohort, ...]) -> None:
    text = format_outcomes(history)
    assert parse_outcomes(text) == history
    assert format_outcomes(parse_outcomes(text)) == text
