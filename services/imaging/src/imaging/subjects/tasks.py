"""Consumers of enrollment's events, and the sweep that reports visits whose window closed empty."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from doseline import outbox
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.contracts.imaging import VisitMissed
from doseline.events import Envelope
from imaging.assessments import repository as assessments_repository
from imaging.assessments import service as assessments
from imaging.schedule import service as schedule_service
from imaging.schedule.visits import calendar
from imaging.subjects import repository, service
from imaging.subjects.models import MissedVisitRow


def on_subject_enrolled(session: Session, envelope: Envelope) -> None:
    row = service.record_enrolment(session, SubjectEnrolled.from_envelope(envelope))
    # The site time zone may be what was missing to place an infusion on the calendar.
    assessments.reassign_visits(session, row, actor="event <enrollment.subject.enrolled>")


def on_infusion_administered(session: Session, envelope: Envelope) -> None:
    row = service.record_infusion(session, InfusionAdministered.from_envelope(envelope))
    assessments.reassign_visits(session, row, actor="event <enrollment.infusion.administered>")


def report_missed_visits(session: Session, now: datetime) -> int:
    """Announce, once each, the follow-up visits whose window ended (site day) with nothing
    recorded at them. Idempotent: a visit already reported is skipped."""
    reported = 0
    for subject in repository.subjects_after_last_infusion(session):
        last_on = service.last_infusion_on(subject)
        if last_on is None or subject.site_time_zone is None:
            continue
        today = service.site_day(now, subject.site_time_zone)
        schedule = schedule_service.schedule_for(session, subject.trial_id, today)
        if schedule is None:
            continue
        already = repository.missed_visits(session, subject.subject_id)
        for visit in calendar(last_on, schedule):
            if visit.window_end >= today or visit.code in already:
                continue
            if assessments_repository.has_assessment_at_visit(
                session, subject.subject_id, visit.code
            ):
                continue
            inserted = repository.add_missed_visit(
                session,
                MissedVisitRow(
                    subject_id=subject.subject_id,
                    visit=visit.code,
                    target_on=visit.target_on,
                    window_end=visit.window_end,
                ),
            )
            if inserted:
                outbox.record_event(
                    session,
                    VisitMissed(
                        trial_id=subject.trial_id,
                        subject_id=subject.subject_id,
                        site_id=subject.site_id,
                        visit=visit.code,
                        target_on=visit.target_on,
                        window_end=visit.window_end,
                    ),
                    subject=f"subjects/{subject.subject_id}",
                )
                reported += 1
    return reported
