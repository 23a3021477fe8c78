"""Which visit an assessment belongs to, from the day it was done and the subject's infusions.

PROTOCOL.md, "Outcomes and when they are measured": month = months after the completion of the
last infusion; baseline = before the first infusion; visit windows ±7 days at months 1-3 and
±14 days at months 6 and 12 (defaults; each trial registers its own schedule). An assessment
outside its window is kept and flagged, never dropped.

Rules chosen where the protocol is silent:
- A month is a calendar month: the target of month N is the last infusion's site-local day plus
  N calendar months (the 31st becomes the last day of a shorter month).
- An assessment after the first infusion belongs to the follow-up visit whose target day is
  nearest; on a tie the earlier visit. Outside that visit's window it is flagged out of window.
- An assessment on the day of the first infusion is baseline only when its time is known to be
  before the infusion's time; otherwise it is not baseline (it cannot be shown to be pre-dose).
- Until the infusions that decide the visit are known, the visit is pending, with the reason;
  it is assigned when the infusion events arrive.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, datetime, timedelta

BASELINE = "baseline"


class VisitScheduleError(ValueError):
    """A visit schedule that cannot be used: duplicate codes or months, negative windows."""


@dataclass(frozen=True)
class FollowUpVisit:
    """A visit's target and window: ``window_days`` before the target, and after it too unless
    ``window_after_days`` says otherwise (a protocol may give the two sides separately)."""

    code: str
    months_after_last_infusion: int
    window_days: int
    window_after_days: int | None = None

    @property
    def after_days(self) -> int:
        return self.window_days if self.window_after_days is None else self.window_after_days


@dataclass(frozen=True)
class VisitSchedule:
    follow_up: tuple[FollowUpVisit, ...]

    def __post_init__(self) -> None:
        codes = [visit.code for visit in self.follow_up]
        months = [visit.months_after_last_infusion for visit in self.follow_up]
        if not self.follow_up:
            raise VisitScheduleError("a schedule needs at least one follow-up visit")
        if BASELINE in codes:
            raise VisitScheduleError("'baseline' is implicit (before day 1); do not list it")
        if len(set(codes)) != len(codes):
            raise VisitScheduleError("visit codes must be unique")
        if len(set(months)) != len(months):
            raise VisitScheduleError("two visits cannot fall in the same month")
        for visit in self.follow_up:
            if visit.months_after_last_infusion < 1:
                raise VisitScheduleError(
                    f"{visit.code}: months after the last infusion must be ≥ 1"
                )
            if visit.window_days < 0 or visit.after_days < 0:
                raise VisitScheduleError(f"{visit.code}: the window cannot be negative")

    def visit(self, code: str) -> FollowUpVisit | None:
        return next((visit for visit in self.follow_up if visit.code == code), None)

    @property
    def codes(self) -> tuple[str, ...]:
        return (BASELINE, *(visit.code for visit in self.follow_up))


# PROTOCOL.md: HDMSC-RP-01 visits at 1, 2, 3 months (±7 days) and 6, 12 months (±14 days).
HDMSC_RP_01_SCHEDULE = VisitSchedule(
    follow_up=(
        FollowUpVisit("month_1", 1, 7),
        FollowUpVisit("month_2", 2, 7),
        FollowUpVisit("month_3", 3, 7),
        FollowUpVisit("month_6", 6, 14),
        FollowUpVisit("month_12", 12, 14),
    )
)


@dataclass(frozen=True)
class VisitAssignment:
    visit: str | None
    """None while pending."""
    target_on: date | None
    days_from_target: int | None
    out_of_window: bool
    pending_reason: str | None


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    target_on: date
    window_start: date
    window_end: date


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later; the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last_day = gregorian.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def target_day(last_infusion_on: date, visit: FollowUpVisit) -> date:
    return add_months(last_infusion_on, visit.months_after_last_infusion)


def calendar(last_infusion_on: date, schedule: VisitSchedule) -> list[PlannedVisit]:
    """The follow-up visits of one subject with their target days and windows."""
    planned = []
    for visit in sorted(schedule.follow_up, key=lambda v: v.months_after_last_infusion):
        target = target_day(last_infusion_on, visit)
        before, after = timedelta(days=visit.window_days), timedelta(days=visit.after_days)
        planned.append(PlannedVisit(visit.code, target, target - before, target + after))
    return planned


def pending(reason: str) -> VisitAssignment:
    return VisitAssignment(None, None, None, out_of_window=False, pending_reason=reason)


def assign_visit(
    *,
    performed_on: date,
    performed_at: datetime | None,
    first_infusion_on: date | None,
    first_infusion_at: datetime | None,
    last_infusion_on: date | None,
    schedule: VisitSchedule | None,
) -> VisitAssignment:
    """The visit of an assessment done on `performed_on` (the site's calendar day)."""
    if first_infusion_on is None:
        return pending("the subject's first infusion is not known yet")
    same_day_before_dose = (
        performed_on == first_infusion_on
        and performed_at is not None
        and first_infusion_at is not None
        and performed_at < first_infusion_at
    )
    if performed_on < first_infusion_on or same_day_before_dose:
        return VisitAssignment(
            BASELINE,
            first_infusion_on,
            (performed_on - first_infusion_on).days,
            out_of_window=False,
            pending_reason=None,
        )
    if schedule is None:
        return pending("the trial has no visit schedule registered")
    if last_infusion_on is None:
        return pending("the subject's last infusion is not known yet")
    planned = calendar(last_infusion_on, schedule)
    nearest = min(planned, key=lambda visit: abs((performed_on - visit.target_on).days))
    delta = (performed_on - nearest.target_on).days
    return VisitAssignment(
        nearest.code,
        nearest.target_on,
        delta,
        out_of_window=not nearest.window_start <= performed_on <= nearest.window_end,
        pending_reason=None,
    )
