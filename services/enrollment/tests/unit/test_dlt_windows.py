"""The 30-day DLT window from the first infusion, DLT-evaluability, replacement within the cap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from enrollment.dlt_windows.rules import (
    DltWindow,
    Evaluability,
    EvaluabilityAssessment,
    assess_evaluability,
    dlt_window,
    replacement,
)
from enrollment.protocol import Protocol

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]

FIRST_ON = date(2026, 5, 4)
LAST_DAY = date(2026, 6, 2)  # day 30
AFTER = date(2026, 6, 3)  # day 31


@pytest.fixture
def window(hdmsc: Protocol) -> DltWindow:
    return dlt_window(hdmsc.dlt_window, FIRST_ON)


def test_the_window_runs_from_day_1_the_first_infusion_to_day_30(window: DltWindow) -> None:
    assert (window.start, window.end, window.days) == (FIRST_ON, LAST_DAY, 30)
    assert window.study_day(FIRST_ON) == 1
    assert window.study_day(LAST_DAY) == 30
    assert window.study_day(AFTER) == 31


@pytest.mark.parametrize(
    ("day", "inside"),
    [(date(2026, 5, 3), False), (FIRST_ON, True), (LAST_DAY, True), (AFTER, False)],
)
def test_both_ends_of_the_window_are_inside_it(window: DltWindow, day: date, inside: bool) -> None:
    assert window.contains(day) is inside


@pytest.mark.parametrize(("today", "closed"), [(FIRST_ON, False), (LAST_DAY, False), (AFTER, True)])
def test_the_window_closes_once_the_site_date_is_past_day_30(
    window: DltWindow, today: date, closed: bool
) -> None:
    assert window.is_closed(today) is closed


def test_closure_follows_the_site_calendar_not_utc(hdmsc: Protocol, window: DltWindow) -> None:
    # 16:30 UTC on 2 June is 00:30 on 3 June in Chengdu: the window has closed there.
    now = datetime(2026, 6, 2, 16, 30, tzinfo=UTC)
    assert window.is_closed(hdmsc.site.date_of(now))
    assert not window.is_closed(hdmsc.site.date_of(datetime(2026, 6, 2, 15, 59, tzinfo=UTC)))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2028, 2, 15), date(2028, 3, 15)),
        (date(2027, 2, 15), date(2027, 3, 16)),
        (date(2026, 12, 20), date(2027, 1, 18)),
    ],
)
def test_day_30_across_february_and_new_year(hdmsc: Protocol, first: date, last: date) -> None:
    assert dlt_window(hdmsc.dlt_window, first).end == last


def evaluate(
    protocol: Protocol,
    *,
    infusions: int,
    today: date,
    dlt: bool = False,
    withdrawn_on: date | None = None,
    suspected: bool = False,
) -> EvaluabilityAssessment:
    return assess_evaluability(
        protocol.evaluability,
        dlt_window(protocol.dlt_window, FIRST_ON),
        infusions_received=infusions,
        confirmed_dlt=dlt,
        today=today,
        withdrawn_on=withdrawn_on,
        suspected_dlt_pending=suspected,
    )


@pytest.mark.parametrize(
    ("infusions", "dlt", "today", "withdrawn_on", "suspected", "status"),
    [
        # All 4 infusions and the window completed.
        (4, False, AFTER, None, False, Evaluability.EVALUABLE),
        # All 4 infusions, window still open on day 30.
        (4, False, LAST_DAY, None, False, Evaluability.PENDING),
        # Window completed with only 3 infusions.
        (3, False, AFTER, None, False, Evaluability.NOT_EVALUABLE),
        (0, False, AFTER, None, False, Evaluability.NOT_EVALUABLE),
        # A confirmed DLT makes the subject evaluable at once, whatever else.
        (1, True, date(2026, 5, 10), None, False, Evaluability.EVALUABLE),
        (2, True, date(2026, 5, 20), date(2026, 5, 12), False, Evaluability.EVALUABLE),
        # Withdrawn before the window ended, no DLT.
        (4, False, date(2026, 5, 20), date(2026, 5, 20), False, Evaluability.NOT_EVALUABLE),
        (4, False, LAST_DAY, LAST_DAY, False, Evaluability.NOT_EVALUABLE),
        # Withdrawn after the window ended: the window was completed.
        (4, False, date(2026, 6, 10), date(2026, 6, 5), False, Evaluability.EVALUABLE),
        # A suspected DLT awaiting adjudication keeps an otherwise non-evaluable subject pending.
        (3, False, AFTER, None, True, Evaluability.PENDING),
        (2, False, date(2026, 5, 20), date(2026, 5, 15), True, Evaluability.PENDING),
        (4, False, AFTER, None, True, Evaluability.EVALUABLE),
    ],
)
def test_evaluable_means_all_infusions_and_the_full_window_or_a_confirmed_dlt(
    hdmsc: Protocol,
    infusions: int,
    dlt: bool,
    today: date,
    withdrawn_on: date | None,
    suspected: bool,
    status: Evaluability,
) -> None:
    result = evaluate(
        hdmsc,
        infusions=infusions,
        dlt=dlt,
        today=today,
        withdrawn_on=withdrawn_on,
        suspected=suspected,
    )
    assert result.status is status
    assert result.evaluable is (status is Evaluability.EVALUABLE)
    assert result.window.end == LAST_DAY


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (
            {"infusions": 4, "today": AFTER},
            "received 4 of the 4 required infusions and completed the DLT window",
        ),
        (
            {"infusions": 3, "today": AFTER},
            "completed the DLT window but received 3 of the 4 required infusions, no confirmed DLT",
        ),
        (
            {"infusions": 2, "today": date(2026, 5, 10)},
            "received 2 of the 4 required infusions; the DLT window ends on 2026-06-02 (day 30)",
        ),
        ({"infusions": 1, "today": date(2026, 5, 6), "dlt": True}, "had a confirmed DLT"),
        (
            {"infusions": 2, "today": date(2026, 5, 9), "withdrawn_on": date(2026, 5, 8)},
            "withdrawn on 2026-05-08 (day 5) before completing the DLT window, received 2 of the"
            " 4 required infusions, no confirmed DLT",
        ),
        (
            {"infusions": 3, "today": AFTER, "suspected": True},
            "a suspected DLT awaits adjudication (otherwise not evaluable: completed the DLT"
            " window but received 3 of the 4 required infusions, no confirmed DLT)",
        ),
    ],
)
def test_the_reason_says_why(hdmsc: Protocol, kwargs: dict[str, Any], reason: str) -> None:
    assert evaluate(hdmsc, **kwargs).reason == reason


def test_a_negative_infusion_count_is_an_error(hdmsc: Protocol) -> None:
    with pytest.raises(ValueError, match="infusions_received must be 0 or more"):
        evaluate(hdmsc, infusions=-1, today=AFTER)


def test_a_protocol_where_dlts_do_not_make_subjects_evaluable(amended: Amend) -> None:
    def dlt_not_enough(document: Document) -> None:
        document["evaluability"]["confirmed_dlt_makes_evaluable"] = False

    protocol = amended(dlt_not_enough)
    assert evaluate(protocol, infusions=3, dlt=True, today=AFTER).status is (
        Evaluability.NOT_EVALUABLE
    )
    assert evaluate(protocol, infusions=4, dlt=True, today=AFTER).status is Evaluability.EVALUABLE


@pytest.mark.parametrize(
    ("infusions", "today", "withdrawn_on", "status"),
    [
        (4, date(2026, 5, 13), None, Evaluability.EVALUABLE),
        (2, date(2026, 5, 13), None, Evaluability.PENDING),
        (2, AFTER, None, Evaluability.NOT_EVALUABLE),
        (2, date(2026, 5, 13), date(2026, 5, 12), Evaluability.NOT_EVALUABLE),
    ],
)
def test_a_protocol_that_does_not_require_the_full_window(
    amended: Amend, infusions: int, today: date, withdrawn_on: date | None, status: Evaluability
) -> None:
    def infusions_only(document: Document) -> None:
        document["evaluability"]["requires_completed_window"] = False

    protocol = amended(infusions_only)
    result = evaluate(protocol, infusions=infusions, today=today, withdrawn_on=withdrawn_on)
    assert result.status is status


# ---------------------------------------------------------------------------------------------
# Replacement within the cap of 15


@pytest.mark.parametrize(
    ("status_kwargs", "enrolled", "replace"),
    [
        ({"infusions": 3, "today": AFTER}, 4, True),
        ({"infusions": 3, "today": AFTER}, 14, True),
        ({"infusions": 3, "today": AFTER}, 15, False),
        ({"infusions": 4, "today": AFTER}, 4, False),
        ({"infusions": 3, "today": LAST_DAY}, 4, False),
    ],
)
def test_a_non_evaluable_subject_is_replaced_while_enrolment_is_under_15(
    hdmsc: Protocol, status_kwargs: dict[str, Any], enrolled: int, replace: bool
) -> None:
    decision = replacement(
        hdmsc.evaluability, hdmsc.enrolment, evaluate(hdmsc, **status_kwargs), enrolled=enrolled
    )
    assert decision.replace is replace


def test_replacement_reasons(hdmsc: Protocol) -> None:
    not_evaluable = evaluate(hdmsc, infusions=3, today=AFTER)
    assert replacement(hdmsc.evaluability, hdmsc.enrolment, not_evaluable, enrolled=9).reason == (
        "replace: not evaluable (completed the DLT window but received 3 of the 4 required"
        " infusions, no confirmed DLT); 9 of 15 enrolled"
    )
    assert replacement(hdmsc.evaluability, hdmsc.enrolment, not_evaluable, enrolled=15).reason == (
        "no replacement: enrolment has reached the cap (15 of 15)"
    )
    evaluable = evaluate(hdmsc, infusions=4, today=AFTER)
    assert replacement(hdmsc.evaluability, hdmsc.enrolment, evaluable, enrolled=9).reason == (
        "no replacement: the subject is evaluable"
    )


def test_a_protocol_that_does_not_replace(amended: Amend) -> None:
    def no_replacement(document: Document) -> None:
        document["evaluability"]["replace_non_evaluable"] = False

    protocol = amended(no_replacement)
    decision = replacement(
        protocol.evaluability,
        protocol.enrolment,
        evaluate(protocol, infusions=3, today=AFTER),
        enrolled=6,
    )
    assert not decision.replace
    assert decision.reason == (
        "no replacement: the protocol does not replace non-evaluable subjects"
    )


@pytest.mark.parametrize("enrolled", [-1, 16, True])
def test_an_enrolment_count_outside_0_to_the_cap_is_an_error(
    hdmsc: Protocol, enrolled: Any
) -> None:
    with pytest.raises(ValueError, match="enrolled must be from 0 to the cap 15"):
        replacement(
            hdmsc.evaluability,
            hdmsc.enrolment,
            evaluate(hdmsc, infusions=3, today=AFTER),
            enrolled=enrolled,
        )
