"""Visits at baseline and 1, 2, 3, 6, 12 months after the last infusion; due, overdue, matching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from enrollment.protocol import Assessment, Protocol
from enrollment.visits.schedule import (
    SubjectVisits,
    VisitState,
    after_withdrawal,
    assign_assessment,
    due_visits,
    overdue_visits,
    visit_schedule,
    visit_states,
)

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]

FIRST_ON = date(2026, 5, 4)
LAST_ON = date(2026, 5, 13)  # day 10, the fourth infusion


@pytest.fixture
def visits(hdmsc: Protocol) -> SubjectVisits:
    return visit_schedule(hdmsc.visits, first_infusion_on=FIRST_ON, last_infusion_on=LAST_ON)


def test_baseline_and_five_follow_up_visits_with_their_windows(visits: SubjectVisits) -> None:
    assert [
        (v.visit_id, v.months_after_last_infusion, v.target_on, v.window_opens, v.window_closes)
        for v in visits.visits
    ] == [
        ("baseline", None, date(2026, 5, 4), date(2026, 4, 6), date(2026, 5, 4)),
        ("month-1", 1, date(2026, 6, 13), date(2026, 6, 6), date(2026, 6, 20)),
        ("month-2", 2, date(2026, 7, 13), date(2026, 7, 6), date(2026, 7, 20)),
        ("month-3", 3, date(2026, 8, 13), date(2026, 8, 6), date(2026, 8, 20)),
        ("month-6", 6, date(2026, 11, 13), date(2026, 10, 30), date(2026, 11, 27)),
        ("month-12", 12, date(2027, 5, 13), date(2027, 4, 29), date(2027, 5, 27)),
    ]
    assert visits.visits[0].is_baseline
    assert not any(v.is_baseline for v in visits.visits[1:])


def test_blood_gas_only_at_baseline_and_one_month(visits: SubjectVisits) -> None:
    with_blood_gas = [v.visit_id for v in visits.visits if Assessment.BLOOD_GAS in v.assessments]
    assert with_blood_gas == ["baseline", "month-1"]
    with_ct = [v.visit_id for v in visits.visits if Assessment.CHEST_CT in v.assessments]
    assert len(with_ct) == 6


@pytest.mark.parametrize(
    ("last_infusion", "targets"),
    [
        (
            date(2027, 1, 31),
            [
                date(2027, 2, 28),
                date(2027, 3, 31),
                date(2027, 4, 30),
                date(2027, 7, 31),
                date(2028, 1, 31),
            ],
        ),
        (
            date(2028, 1, 31),
            [
                date(2028, 2, 29),
                date(2028, 3, 31),
                date(2028, 4, 30),
                date(2028, 7, 31),
                date(2029, 1, 31),
            ],
        ),
        (
            date(2026, 8, 31),
            [
                date(2026, 9, 30),
                date(2026, 10, 31),
                date(2026, 11, 30),
                date(2027, 2, 28),
                date(2027, 8, 31),
            ],
        ),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(
    hdmsc: Protocol, last_infusion: date, targets: list[date]
) -> None:
    first = date(last_infusion.year, last_infusion.month, 1)
    schedule = visit_schedule(hdmsc.visits, first_infusion_on=first, last_infusion_on=last_infusion)
    assert [v.target_on for v in schedule.visits[1:]] == targets


def test_follow_ups_wait_for_the_last_infusion(hdmsc: Protocol) -> None:
    schedule = visit_schedule(hdmsc.visits, first_infusion_on=FIRST_ON, last_infusion_on=None)
    assert [v.visit_id for v in schedule.visits] == ["baseline"]


def test_the_last_infusion_cannot_precede_the_first(hdmsc: Protocol) -> None:
    with pytest.raises(ValueError, match="cannot be before the first"):
        visit_schedule(hdmsc.visits, first_infusion_on=FIRST_ON, last_infusion_on=date(2026, 5, 3))


def test_visits_are_looked_up_by_id(visits: SubjectVisits) -> None:
    assert visits.visit("month-6").target_on == date(2026, 11, 13)
    with pytest.raises(KeyError, match="no visit 'month-9' is scheduled"):
        visits.visit("month-9")


# ---------------------------------------------------------------------------------------------
# Due and overdue


@pytest.mark.parametrize(
    ("on", "completed", "month_1"),
    [
        (date(2026, 6, 5), {"baseline"}, VisitState.UPCOMING),
        (date(2026, 6, 6), {"baseline"}, VisitState.DUE),
        (date(2026, 6, 20), {"baseline"}, VisitState.DUE),
        (date(2026, 6, 21), {"baseline"}, VisitState.OVERDUE),
        (date(2026, 6, 21), {"baseline", "month-1"}, VisitState.DONE),
        (date(2026, 6, 10), {"baseline", "month-1"}, VisitState.DONE),
    ],
)
def test_a_visit_is_due_while_its_window_is_open_and_overdue_once_it_closed(
    visits: SubjectVisits, on: date, completed: set[str], month_1: VisitState
) -> None:
    states = {s.visit.visit_id: s.state for s in visit_states(visits, completed, on)}
    assert states["month-1"] is month_1
    assert states["baseline"] is VisitState.DONE


def test_baseline_not_done_by_the_first_infusion_day_is_overdue(visits: SubjectVisits) -> None:
    states = {s.visit.visit_id: s.state for s in visit_states(visits, set(), date(2026, 5, 5))}
    assert states["baseline"] is VisitState.OVERDUE
    assert states["month-1"] is VisitState.UPCOMING


def test_due_and_overdue_lists_on_a_date(visits: SubjectVisits) -> None:
    on = date(2026, 7, 10)
    completed = {"baseline"}
    assert [v.visit_id for v in due_visits(visits, completed, on)] == ["month-2"]
    assert [v.visit_id for v in overdue_visits(visits, completed, on)] == ["month-1"]
    assert due_visits(visits, {"baseline", "month-1", "month-2"}, on) == ()


def test_a_completed_visit_that_is_not_scheduled_is_an_error(visits: SubjectVisits) -> None:
    with pytest.raises(KeyError, match="not scheduled: month-9"):
        visit_states(visits, {"baseline", "month-9"}, date(2026, 7, 10))


# ---------------------------------------------------------------------------------------------
# Which visit an assessment belongs to


@pytest.mark.parametrize(
    ("assessed_on", "visit_id", "in_window", "days_from_target"),
    [
        (date(2026, 5, 4), "baseline", True, 0),
        (date(2026, 4, 6), "baseline", True, -28),
        (date(2026, 4, 5), "baseline", False, -29),
        (date(2026, 6, 13), "month-1", True, 0),
        (date(2026, 6, 6), "month-1", True, -7),
        (date(2026, 6, 20), "month-1", True, 7),
        (date(2026, 6, 21), "month-1", False, 8),
        # 15 days after month-1's target and 15 before month-2's: the earlier visit.
        (date(2026, 6, 28), "month-1", False, 15),
        (date(2026, 6, 29), "month-2", False, -14),
        # During treatment: after the first infusion, so never baseline.
        (date(2026, 5, 8), "month-1", False, -36),
        (date(2026, 10, 30), "month-6", True, -14),
        (date(2026, 11, 28), "month-6", False, 15),
        (date(2027, 9, 1), "month-12", False, 111),
    ],
)
def test_an_assessment_belongs_to_the_visit_whose_window_holds_it_or_else_the_nearest(
    visits: SubjectVisits,
    assessed_on: date,
    visit_id: str,
    in_window: bool,
    days_from_target: int,
) -> None:
    assignment = assign_assessment(visits, assessed_on)
    assert assignment.visit is not None
    assert assignment.visit.visit_id == visit_id
    assert assignment.in_window is in_window
    assert assignment.days_from_target == days_from_target
    assert assignment.assessed_on == assessed_on


def test_an_assessment_outside_its_window_is_kept_and_flagged(visits: SubjectVisits) -> None:
    assignment = assign_assessment(visits, date(2026, 6, 21))
    assert assignment.reason == (
        "outside the month-1 window (2026-06-06 to 2026-06-20); kept and flagged"
    )
    assert assign_assessment(visits, date(2026, 6, 13)).reason == (
        "within the month-1 window (2026-06-06 to 2026-06-20)"
    )


def test_a_blood_gas_goes_to_the_only_follow_up_that_schedules_one(visits: SubjectVisits) -> None:
    assignment = assign_assessment(visits, date(2026, 7, 13), Assessment.BLOOD_GAS)
    assert assignment.visit is not None
    assert (assignment.visit.visit_id, assignment.in_window) == ("month-1", False)
    assert assignment.days_from_target == 30
    ct = assign_assessment(visits, date(2026, 7, 13), Assessment.CHEST_CT)
    assert ct.visit is not None
    assert (ct.visit.visit_id, ct.in_window) == ("month-2", True)


def test_a_baseline_assessment_is_matched_by_type(visits: SubjectVisits) -> None:
    assignment = assign_assessment(visits, date(2026, 5, 1), Assessment.BLOOD_GAS)
    assert assignment.visit is not None
    assert (assignment.visit.visit_id, assignment.in_window) == ("baseline", True)


def test_an_assessment_before_the_follow_ups_are_scheduled_belongs_to_no_visit_yet(
    hdmsc: Protocol,
) -> None:
    schedule = visit_schedule(hdmsc.visits, first_infusion_on=FIRST_ON, last_infusion_on=None)
    assignment = assign_assessment(schedule, date(2026, 5, 20), Assessment.SGRQ)
    assert assignment.visit is None
    assert not assignment.in_window
    assert assignment.days_from_target is None
    assert assignment.reason == (
        "sgrq assessed on 2026-05-20, after the first infusion, before the follow-up visits are"
        " scheduled (the last infusion is not recorded yet)"
    )
    # Baseline is still matched before the first infusion.
    baseline = assign_assessment(schedule, date(2026, 5, 2), Assessment.SGRQ)
    assert baseline.visit is not None
    assert baseline.visit.visit_id == "baseline"


def test_an_assessment_no_visit_schedules_belongs_to_no_visit(amended: Amend) -> None:
    def no_blood_gas(document: Document) -> None:
        visits = document["visits"]
        for visit in (visits["baseline"], *visits["follow_up"]):
            visit["assessments"] = [a for a in visit["assessments"] if a != "blood-gas"]

    protocol = amended(no_blood_gas)
    schedule = visit_schedule(protocol.visits, first_infusion_on=FIRST_ON, last_infusion_on=LAST_ON)
    before = assign_assessment(schedule, date(2026, 5, 1), Assessment.BLOOD_GAS)
    assert (before.visit, before.reason) == (None, "no baseline blood-gas assessment is scheduled")
    after = assign_assessment(schedule, date(2026, 6, 13), Assessment.BLOOD_GAS)
    assert (after.visit, after.reason) == (
        None,
        "no follow-up visit schedules a blood-gas assessment",
    )


@pytest.mark.parametrize(
    ("safety_follow_up", "expected"),
    [
        # Withdrawn on 2026-07-01: month 1 (target 2026-06-13) was done; month 2 and later,
        # after the withdrawal day, are cancelled unless safety follow-up continues.
        (
            False,
            ["done", "done", "cancelled", "cancelled", "cancelled", "cancelled"],
        ),
        (True, ["done", "done", "upcoming", "upcoming", "upcoming", "upcoming"]),
    ],
)
def test_visits_after_the_withdrawal_day_are_cancelled_without_safety_follow_up(
    visits: SubjectVisits, safety_follow_up: bool, expected: list[str]
) -> None:
    on = date(2026, 7, 1)
    states = after_withdrawal(
        visit_states(visits, {"baseline", "month-1"}, on),
        effective_on=on,
        safety_follow_up=safety_follow_up,
    )
    assert [s.state.value for s in states] == expected


def test_a_visit_due_on_the_withdrawal_day_is_not_cancelled(visits: SubjectVisits) -> None:
    on = date(2026, 6, 13)  # month 1's target day
    states = after_withdrawal(
        visit_states(visits, {"baseline"}, on), effective_on=on, safety_follow_up=False
    )
    assert [(s.visit.visit_id, s.state) for s in states[:3]] == [
        ("baseline", VisitState.DONE),
        ("month-1", VisitState.DUE),
        ("month-2", VisitState.CANCELLED),
    ]
