"""The outcome string derived from stored facts: complete cohorts only, non-evaluable subjects
left out (and replaced), DLTs counted from the latest adjudication."""

from __future__ import annotations

from typing import Any

import pytest

from enrollment.escalation_state.outcomes import (
    CohortOutcomes,
    SubjectOutcome,
    decision_outcome,
    derive_outcomes,
    state_document,
    state_hash,
)
from escalation import Design, Variant, recommend

DESIGN = Design(num_doses=2, variant=Variant.EXPAND_TOP)

# Subject shorthand: N = window closed, evaluable, no DLT; T = confirmed DLT;
# X = window closed, not evaluable (replaced); o = window still open;
# W = withdrawn before the first infusion, so no window (replaced).
_LETTERS: dict[str, dict[str, Any]] = {
    "W": {"dlt": False, "window_closed": False, "evaluable": None, "withdrawn_untreated": True},
    "N": {"dlt": False, "window_closed": True, "evaluable": True},
    "T": {"dlt": True, "window_closed": False, "evaluable": None},
    "X": {"dlt": False, "window_closed": True, "evaluable": False},
    "o": {"dlt": False, "window_closed": False, "evaluable": None},
}


def cohorts(*written: str) -> list[CohortOutcomes]:
    """`"1NNT"` is cohort 1 at dose level 1 with subjects N, N, T in enrolment order."""
    result = []
    sequence = 0
    for number, text in enumerate(written, start=1):
        dose, letters = int(text[0]), text[1:]
        subjects = []
        for letter in letters:
            sequence += 1
            subjects.append(
                SubjectOutcome(
                    subject_id=f"S-{sequence:03d}",
                    sequence=sequence,
                    dose_level=dose,
                    **_LETTERS[letter],
                )
            )
        result.append(
            CohortOutcomes(number=number, dose_level=dose, planned_size=3, subjects=tuple(subjects))
        )
    return result


@pytest.mark.parametrize(
    ("facts", "outcomes", "complete"),
    [
        ((), "", 0),
        (("1NNo",), "", 0),
        (("1NNN",), "1NNN", 1),
        (("1TNN",), "1TNN", 1),
        # Two DLTs with the third window open: wait for the cohort (CASES.md §G6).
        (("1TTo",), "", 0),
        # A non-evaluable subject is left out; the cohort waits for the replacement.
        (("1NXN",), "", 0),
        (("1NXNN",), "1NNN", 1),
        (("1NXNT",), "1NNT", 1),
        # A subject withdrawn before the first infusion is left out like a non-evaluable one.
        (("1WNN",), "", 0),
        (("1WNNN",), "1NNN", 1),
        (("1NNN", "2TNo"), "1NNN", 1),
        (("1NNN", "2TNN", "2NNN"), "1NNN 2TNN 2NNN", 3),
        (("1NNN", "2TTN", "1NNN"), "1NNN 2TTN 1NNN", 3),
    ],
)
def test_only_complete_cohorts_enter_the_outcome_string(
    facts: tuple[str, ...], outcomes: str, complete: int
) -> None:
    derived = derive_outcomes(cohorts(*facts))
    assert (derived.outcomes, derived.complete_cohorts) == (outcomes, complete)


def test_a_suspected_dlt_reported_after_the_window_closed_holds_the_cohort() -> None:
    closed = [
        SubjectOutcome(f"S-{n}", n, 1, dlt=False, window_closed=True, evaluable=True)
        for n in (1, 2)
    ]
    suspected = SubjectOutcome(
        "S-3", 3, 1, dlt=False, window_closed=True, evaluable=True, dlt_pending=True
    )
    cohort = CohortOutcomes(number=1, dose_level=1, planned_size=3, subjects=(*closed, suspected))
    derived = derive_outcomes([cohort])
    assert (derived.outcomes, derived.complete_cohorts) == ("", 0)
    assert not suspected.complete
    assert not suspected.excluded  # held, not replaced


def test_a_dlt_makes_a_replaced_subject_count_again() -> None:
    subject = SubjectOutcome("S-1", 1, 1, dlt=True, window_closed=True, evaluable=False)
    assert subject.complete
    assert not subject.excluded


@pytest.mark.parametrize(
    ("outcomes", "current", "expected"),
    [
        ("1NNN", 1, "escalate"),
        ("1NNN 2TNN", 2, "stay"),
        ("1NNN 2TTN", 2, "de-escalate"),
        ("1NNN 2NNN 2NNN", 2, "stop"),
        ("1TTN", 1, "stop"),
    ],
)
def test_the_decision_names_the_move_from_the_cohort_just_decided(
    outcomes: str, current: int, expected: str
) -> None:
    assert decision_outcome(recommend(DESIGN, outcomes), current_dose=current) == expected


def test_the_state_hash_changes_with_anything_the_signature_rests_on() -> None:
    base: dict[str, Any] = {
        "trial_id": "HDMSC-RP-01",
        "outcomes": "1NNN",
        "complete_cohorts": 1,
        "continue_trial": True,
        "next_dose": 2,
        "mtd": None,
        "reason": "escalate",
        "protocol_version": "1.0",
        "protocol_hash": "sha256:" + "0" * 64,
    }
    digest = state_hash(state_document(**base))
    assert len(digest) == 64
    assert digest == state_hash(state_document(**base))
    for key, value in (("outcomes", "1NNT"), ("protocol_version", "1.1"), ("next_dose", 1)):
        assert state_hash(state_document(**{**base, key: value})) != digest
