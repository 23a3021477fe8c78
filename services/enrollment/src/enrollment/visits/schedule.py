"""Visit schedule: baseline and follow-up visits with windows, due/overdue, assessment dates (pure).

PROTOCOL.md: "Month = months after the completion of the last infusion. Baseline = before the
first infusion." Months are calendar months added to the last infusion's site date, clamped to
the end of a shorter month. An assessment outside its visit's window is kept and flagged,
never dropped: ``assign_assessment`` always says which visit it is nearest to.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from doseline.sitetime import add_months
from enrollment.protocol.config import Assessment, VisitSchedule


@dataclass(frozen=True)
class ScheduledVisit:
    """A visit's target date and window (both ends included) and what is assessed at it."""

    visit_id: str
    label: str
    months_after_last_infusion: int | None  # None for baseline
    target_on: date
    window_opens: date
    window_closes: date
    assessments: tuple[Assessment, ...]

    @property
    def is_baseline(self) -> bool:
        return self.months_after_last_infusion is None

    def contains(self, day: date) -> bool:
        return self.window_opens <= day <= self.window_closes


@dataclass(frozen=True)
class SubjectVisits:
    """One subject's visits: baseline first, then follow-ups once the last infusion is known."""

    first_infusion_on: date
    last_infusion_on: date | None
    visits: tuple[ScheduledVisit, ...]

    def visit(self, visit_id: str) -> ScheduledVisit:
        for visit in self.visits:
            if visit.visit_id == visit_id:
                return visit
        raise KeyError(
            f"no visit {visit_id!r} is scheduled"
            f" (scheduled: {', '.join(v.visit_id for v in self.visits)})"
        )


def visit_schedule(
    config: VisitSchedule, *, first_infusion_on: date, last_infusion_on: date | None
) -> SubjectVisits:
    """The visits of a subject; follow-ups are scheduled only once ``last_infusion_on`` is known.

    Baseline's window runs from ``window_days_before_first_infusion`` days before the first
    infusion to the day of the first infusion (assessed before it is given).
    """
    if last_infusion_on is not None and last_infusion_on < first_infusion_on:
        raise ValueError(
            f"the last infusion ({last_infusion_on.isoformat()}) cannot be before the first"
            f" ({first_infusion_on.isoformat()})"
        )
    baseline = config.baseline
    visits = [
        ScheduledVisit(
            visit_id=baseline.id,
            label=baseline.label,
            months_after_last_infusion=None,
            target_on=first_infusion_on,
            window_opens=first_infusion_on
            - timedelta(days=baseline.window_days_before_first_infusion),
            window_closes=first_infusion_on,
            assessments=baseline.assessments,
        )
    ]
    if last_infusion_on is not None:
        for follow_up in config.follow_up:
            target = add_months(last_infusion_on, follow_up.months_after_last_infusion)
            visits.append(
                ScheduledVisit(
                    visit_id=follow_up.id,
                    label=follow_up.label,
                    months_after_last_infusion=follow_up.months_after_last_infusion,
                    target_on=target,
                    window_opens=target - timedelta(days=follow_up.window.before_days),
                    window_closes=target + timedelta(days=follow_up.window.after_days),
                    assessments=follow_up.assessments,
                )
            )
    return SubjectVisits(
        first_infusion_on=first_infusion_on,
        last_infusion_on=last_infusion_on,
        visits=tuple(visits),
    )


class VisitState(StrEnum):
    DONE = "done"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    # The subject was withdrawn before it, without continued safety follow-up.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class VisitStatus:
    visit: ScheduledVisit
    state: VisitState


def visit_states(
    schedule: SubjectVisits, completed: Collection[str], on: date
) -> tuple[VisitStatus, ...]:
    """Each visit on site date ``on``: due while its window is open, overdue once it closed,
    in both cases only if not in ``completed`` (visit ids)."""
    unknown = sorted(set(completed) - {visit.visit_id for visit in schedule.visits})
    if unknown:
        raise KeyError(f"completed visits that are not scheduled: {', '.join(unknown)}")
    statuses = []
    for visit in schedule.visits:
        if visit.visit_id in completed:
            state = VisitState.DONE
        elif visit.window_closes < on:
            state = VisitState.OVERDUE
        elif visit.window_opens <= on:
            state = VisitState.DUE
        else:
            state = VisitState.UPCOMING
        statuses.append(VisitStatus(visit, state))
    return tuple(statuses)


def after_withdrawal(
    statuses: tuple[VisitStatus, ...], *, effective_on: date, safety_follow_up: bool
) -> tuple[VisitStatus, ...]:
    """A withdrawn subject's visits: those not done with a target day after ``effective_on``
    are cancelled, unless the consent allows continued safety follow-up (then they are kept:
    the protocol schedules no visit for safety alone, and adverse events are collected at
    every follow-up visit)."""
    if safety_follow_up:
        return statuses
    return tuple(
        VisitStatus(s.visit, VisitState.CANCELLED)
        if s.state is not VisitState.DONE and s.visit.target_on > effective_on
        else s
        for s in statuses
    )


def due_visits(
    schedule: SubjectVisits, completed: Collection[str], on: date
) -> tuple[ScheduledVisit, ...]:
    return _in_state(schedule, completed, on, VisitState.DUE)


def overdue_visits(
    schedule: SubjectVisits, completed: Collection[str], on: date
) -> tuple[ScheduledVisit, ...]:
    return _in_state(schedule, completed, on, VisitState.OVERDUE)


def _in_state(
    schedule: SubjectVisits, completed: Collection[str], on: date, state: VisitState
) -> tuple[ScheduledVisit, ...]:
    return tuple(s.visit for s in visit_states(schedule, completed, on) if s.state is state)


@dataclass(frozen=True)
class VisitAssignment:
    """The visit an assessment date belongs to; ``in_window`` False flags it (kept, not dropped).

    ``visit`` is None only when no scheduled visit could take the assessment: it was done after
    the first infusion before the follow-ups are scheduled, or no visit has that assessment.
    """

    assessed_on: date
    visit: ScheduledVisit | None
    in_window: bool
    days_from_target: int | None
    reason: str


def assign_assessment(
    schedule: SubjectVisits, assessed_on: date, assessment: Assessment | None = None
) -> VisitAssignment:
    """The visit an assessment on ``assessed_on`` belongs to.

    On or before the first infusion day it is baseline; after it, the follow-up visit whose
    window holds the date, or else the one with the nearest target date (the earlier on a
    tie). With ``assessment``, only visits that schedule that assessment are candidates.
    """
    candidates = [
        visit
        for visit in schedule.visits
        if (assessment is None or assessment in visit.assessments)
        and visit.is_baseline == (assessed_on <= schedule.first_infusion_on)
    ]
    what = f"{assessment} " if assessment is not None else ""
    if not candidates:
        if assessed_on <= schedule.first_infusion_on:
            reason = f"no baseline {what}assessment is scheduled"
        elif schedule.last_infusion_on is None:
            reason = (
                f"{what}assessed on {assessed_on.isoformat()}, after the first infusion, before"
                " the follow-up visits are scheduled (the last infusion is not recorded yet)"
            )
        else:
            reason = f"no follow-up visit schedules a {what}assessment"
        return VisitAssignment(assessed_on, None, False, None, reason.strip())
    for visit in candidates:
        if visit.contains(assessed_on):
            return VisitAssignment(
                assessed_on,
                visit,
                True,
                (assessed_on - visit.target_on).days,
                f"within the {visit.visit_id} window ({_window(visit)})",
            )
    nearest = min(candidates, key=lambda v: (abs((assessed_on - v.target_on).days), v.target_on))
    return VisitAssignment(
        assessed_on,
        nearest,
        False,
        (assessed_on - nearest.target_on).days,
        f"outside the {nearest.visit_id} window ({_window(nearest)}); kept and flagged",
    )


def _window(visit: ScheduledVisit) -> str:
    return f"{visit.window_opens.isoformat()} to {visit.window_closes.isoformat()}"
