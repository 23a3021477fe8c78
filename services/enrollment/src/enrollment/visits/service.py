"""Visit use cases: each subject's schedule after the last infusion, due and overdue lists,
and records of visits that took place (outside the window: kept and flagged)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from doseline import audit
from doseline.auth import Principal
from doseline.errors import Conflict, InvalidInput, NotFound
from enrollment.dosing import repository as dosing_repository
from enrollment.problems import NO_VISIT_SCHEDULE, VISIT_ALREADY_RECORDED, VISIT_CANCELLED
from enrollment.protocol import Protocol
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials.protocols import protocol_of
from enrollment.visits import repository
from enrollment.visits.models import VisitRecord
from enrollment.visits.schedule import (
    ScheduledVisit,
    SubjectVisits,
    VisitState,
    VisitStatus,
    after_withdrawal,
    visit_schedule,
    visit_states,
)


def subject_schedule(session: Session, protocol: Protocol, subject_id: str) -> SubjectVisits | None:
    """The subject's visits, or None before the first infusion. A withdrawn subject's series
    ended with the last infusion given, so the follow-ups are counted from it."""
    given = [r for r in dosing_repository.infusions_of(session, subject_id) if r.status == "given"]
    if not given or given[0].site_date is None:
        return None
    last = next((r.site_date for r in given if r.infusion_number == protocol.infusions.count), None)
    if last is None and subjects_repository.withdrawal_of(session, subject_id) is not None:
        last = given[-1].site_date
    return visit_schedule(
        protocol.visits, first_infusion_on=given[0].site_date, last_infusion_on=last
    )


def trial_visits(
    session: Session, *, trial_id: str, principal: Principal, on: date | None, now: datetime
) -> list[tuple[str, VisitStatus]]:
    """The visits of the trial's treated subjects at the caller's sites, on a site date."""
    visible = subjects_repository.visible_subject_ids(session, trial_id, principal)
    trial = trials_repository.get_trial(session, trial_id)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    protocol = protocol_of(session, trial)
    day = on or protocol.site.date_of(now)
    subject_ids = repository.enrolled_subject_ids(session, trial_id)
    result: list[tuple[str, VisitStatus]] = []
    for subject_id in subject_ids:
        if subject_id not in visible:
            continue
        schedule = subject_schedule(session, protocol, subject_id)
        if schedule is None:
            continue
        for status in _visit_states(session, schedule, subject_id, day):
            result.append((subject_id, status))
    return result


def _visit_states(
    session: Session, schedule: SubjectVisits, subject_id: str, on: date
) -> tuple[VisitStatus, ...]:
    states = visit_states(schedule, repository.completed_visits(session, subject_id), on)
    withdrawal = subjects_repository.withdrawal_of(session, subject_id)
    if withdrawal is None:
        return states
    return after_withdrawal(
        states,
        effective_on=withdrawal.effective_on,
        safety_follow_up=withdrawal.safety_follow_up,
    )


def _visit_to_record(
    session: Session, protocol: Protocol, *, subject_id: str, visit_id: str, today: date
) -> ScheduledVisit:
    """The subject's scheduled visit `visit_id`, if it is not recorded yet nor cancelled."""
    schedule = subject_schedule(session, protocol, subject_id)
    if schedule is None:
        raise Conflict(
            f"subject {subject_id} has no infusion yet, so no visit schedule",
            problem=NO_VISIT_SCHEDULE,
        )
    visit = next((v for v in schedule.visits if v.visit_id == visit_id), None)
    if visit is None:
        known = ", ".join(v.visit_id for v in schedule.visits)
        raise InvalidInput.at(
            ["body", "visit_id"],
            f"is not a scheduled visit of this subject (scheduled so far: {known})",
        )
    if visit_id in repository.completed_visits(session, subject_id):
        raise Conflict(f"visit {visit_id} is already recorded", problem=VISIT_ALREADY_RECORDED)
    if any(
        s.visit.visit_id == visit_id and s.state is VisitState.CANCELLED
        for s in _visit_states(session, schedule, subject_id, today)
    ):
        raise Conflict(
            f"visit {visit_id} was cancelled: subject {subject_id} was withdrawn without"
            " continued safety follow-up",
            problem=VISIT_CANCELLED,
        )
    return visit


def record_visit(
    session: Session,
    *,
    subject_id: str,
    visit_id: str,
    visit_date: date,
    principal: Principal,
    now: datetime,
) -> VisitRecord:
    subject = subjects_repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    protocol = protocol_of(session, trial)
    if visit_date > protocol.site.date_of(now):
        raise InvalidInput.at(["body", "visit_date"], "is after today at the site")
    visit = _visit_to_record(
        session,
        protocol,
        subject_id=subject_id,
        visit_id=visit_id,
        today=protocol.site.date_of(now),
    )
    row = VisitRecord(
        subject_id=subject_id,
        visit=visit_id,
        visit_date=visit_date,
        in_window=visit.contains(visit_date),
        recorded_by=principal.audit_name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="visit.record",
        entity_type="subject",
        entity_id=subject_id,
        after={"visit": visit_id, "visit_date": visit_date, "in_window": row.in_window},
    )
    return row
