"""Visits from the site day of an assessment and the subject's infusions (PROTOCOL.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from imaging.schedule.visits import (
    HDMSC_RP_01_SCHEDULE,
    FollowUpVisit,
    VisitAssignment,
    VisitSchedule,
    VisitScheduleError,
    add_months,
    assign_visit,
    calendar,
)

DAY_1 = date(2026, 1, 5)
LAST = date(2026, 1, 14)


@pytest.mark.parametrize(
    ("performed_on", "visit", "days", "out_of_window"),
    [
        (date(2026, 1, 2), "baseline", -3, False),
        (date(2026, 2, 14), "month_1", 0, False),
        (date(2026, 2, 21), "month_1", 7, False),
        (date(2026, 2, 22), "month_1", 8, True),
        (date(2026, 3, 1), "month_2", -13, True),
        (date(2026, 4, 21), "month_3", 7, False),
        (date(2026, 7, 28), "month_6", 14, False),
        (date(2026, 7, 29), "month_6", 15, True),
        (date(2026, 1, 10), "month_1", -35, True),  # during treatment: nearest visit, flagged
        (date(2027, 1, 1), "month_12", -13, False),
    ],
)
def test_each_assessment_belongs_to_the_nearest_visit_and_is_flagged_outside_its_window(
    performed_on: date, visit: str, days: int, out_of_window: bool
) -> None:
    assignment = assign_visit(
        performed_on=performed_on,
        performed_at=None,
        first_infusion_on=DAY_1,
        first_infusion_at=None,
        last_infusion_on=LAST,
        schedule=HDMSC_RP_01_SCHEDULE,
    )
    assert (assignment.visit, assignment.days_from_target, assignment.out_of_window) == (
        visit,
        days,
        out_of_window,
    )


def _assign(
    performed_on: date,
    *,
    first_infusion_on: date | None = DAY_1,
    last_infusion_on: date | None = LAST,
    performed_at: datetime | None = None,
    first_infusion_at: datetime | None = None,
) -> VisitAssignment:
    return assign_visit(
        performed_on=performed_on,
        performed_at=performed_at,
        first_infusion_on=first_infusion_on,
        first_infusion_at=first_infusion_at,
        last_infusion_on=last_infusion_on,
        schedule=HDMSC_RP_01_SCHEDULE,
    )


def test_a_visit_waits_for_the_infusions_that_decide_it() -> None:
    unknown_day_1 = _assign(date(2026, 2, 14), first_infusion_on=None, last_infusion_on=None)
    assert unknown_day_1.pending_reason == "the subject's first infusion is not known yet"
    unknown_last = _assign(date(2026, 2, 14), last_infusion_on=None)
    assert unknown_last.visit is None
    assert unknown_last.pending_reason == "the subject's last infusion is not known yet"


def test_on_day_1_only_an_assessment_timed_before_the_infusion_is_baseline() -> None:
    dose = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    before = _assign(
        DAY_1, performed_at=datetime(2026, 1, 5, 0, 30, tzinfo=UTC), first_infusion_at=dose
    )
    untimed = _assign(DAY_1, first_infusion_at=dose)
    assert before.visit == "baseline"
    assert untimed.visit == "month_1"


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 1, 14), 12, date(2027, 1, 14)),
    ],
)
def test_a_month_is_a_calendar_month_ending_on_the_last_day_of_a_shorter_month(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_the_hdmsc_calendar_has_seven_day_windows_to_month_3_and_fourteen_after() -> None:
    windows = {
        v.code: (v.window_end - v.target_on).days for v in calendar(LAST, HDMSC_RP_01_SCHEDULE)
    }
    assert windows == {"month_1": 7, "month_2": 7, "month_3": 7, "month_6": 14, "month_12": 14}


@pytest.mark.parametrize(
    "visits",
    [
        (),
        (FollowUpVisit("month_1", 1, 7), FollowUpVisit("month_1", 2, 7)),
        (FollowUpVisit("a", 1, 7), FollowUpVisit("b", 1, 7)),
        (FollowUpVisit("baseline", 1, 7),),
        (FollowUpVisit("month_0", 0, 7),),
        (FollowUpVisit("month_1", 1, -1),),
    ],
)
def test_incoherent_schedules_are_refused(visits: tuple[FollowUpVisit, ...]) -> None:
    with pytest.raises(VisitScheduleError):
        VisitSchedule(follow_up=visits)
