"""Subjects from enrollment's events (in any order), their site calendar days and visit calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, sitetime, subject_projection
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.errors import Conflict, NotFound
from imaging.assessments import repository as assessments
from imaging.problems import SUBJECT_NOT_KNOWN_YET
from imaging.schedule import service as schedule_service
from imaging.schedule.visits import BASELINE, calendar
from imaging.subjects import facts, repository
from imaging.subjects.models import SubjectHospitalIdRow, SubjectRow
from imaging.subjects.schemas import PlannedVisitOut, SubjectOut


def site_day(moment: datetime, zone: str | None) -> date:
    """The site's calendar day of an instant (PROTOCOL.md visit days are site days)."""
    return sitetime.site_date(moment, zone)


def last_infusion_on(row: SubjectRow) -> date | None:
    if row.last_infusion_at is None or row.site_time_zone is None:
        return None
    return site_day(row.last_infusion_at, row.site_time_zone)


def record_enrolment(session: Session, event: SubjectEnrolled) -> SubjectRow:
    row = subject_projection.record_enrolment(session, SubjectRow, SubjectHospitalIdRow, event)
    before = _facts(row)
    # An event without facts (a screening that recorded none) keeps what a replay had set.
    row.sex = event.sex or row.sex
    row.birth_date = event.birth_date or row.birth_date
    row.height_cm = event.height_cm or row.height_cm
    if _facts(row) != before:
        session.flush()
        audit.record(
            session,
            actor=f"event <{SubjectEnrolled.event_type}>",
            action="subject.facts_recorded",
            entity_type="subject",
            entity_id=row.subject_id,
            before=before,
            after=_facts(row),
        )
    return row


def person_facts(
    session: Session,
    subject_id: str,
    *,
    sex: str | None,
    age_years: float | None,
    height_cm: float | None,
    performed_at: datetime,
) -> facts.PersonFacts:
    """The facts a test is computed with (imaging.subjects.facts); raises FactDisagreement."""
    row = require_known(session, subject_id)
    return facts.resolve(
        facts.RecordedFacts(sex=row.sex, birth_date=row.birth_date, height_cm=row.height_cm),
        sex=sex,
        age_years=age_years,
        height_cm=height_cm,
        performed_on=site_day(performed_at, row.site_time_zone),
    )


def _facts(row: SubjectRow) -> dict[str, Any]:
    return {"sex": row.sex, "birth_date": row.birth_date, "height_cm": row.height_cm}


def record_infusion(session: Session, event: InfusionAdministered) -> SubjectRow:
    """Day 1 from the newest infusion; the last infusion from the one marked last (any order)."""
    row, _window_changed = subject_projection.record_infusion(session, SubjectRow, event)
    return row


def require_known(
    session: Session, subject_id: str, *, lock: bool = False, reading: bool = False
) -> SubjectRow:
    """A subject enrollment has announced; a 409 that says so otherwise.

    Events can arrive after the hospital's data: an assessment for a subject whose enrolment
    event has not arrived is refused, not kept pending, because without it imaging knows
    neither the trial, nor the site's time zone, nor the dose level; the client retries.
    A read of such a subject is a 404 with the same explanation.
    """
    row = repository.subject(session, subject_id, lock=lock)
    if row is None or row.enrolled_at is None or row.site_time_zone is None:
        if reading:
            raise NotFound(
                f"imaging has not received the enrolment of subject {subject_id!r}; check the "
                "study subject id, or retry once the enrolment has arrived"
            )
        raise not_known_yet(subject_id)
    return row


def not_known_yet(subject_id: str) -> Conflict:
    """The answer to a write for a subject imaging has not received (or the caller cannot see)."""
    return Conflict(
        f"imaging has not yet received the enrolment of subject {subject_id!r} from "
        "enrollment; check the study subject id, or retry once the enrolment has arrived",
        problem=SUBJECT_NOT_KNOWN_YET,
    )


def profile(session: Session, subject_id: str) -> tuple[SubjectRow, SubjectOut]:
    """A subject's enrolment facts and visit calendar, with the assessments done at each visit."""
    row = require_known(session, subject_id, reading=True)
    kinds_at: dict[str, list[str]] = {}
    for assessment in assessments.of_subject(session, subject_id, include_voided=False):
        if assessment.visit is not None:
            kinds_at.setdefault(assessment.visit, [])
            if assessment.kind not in kinds_at[assessment.visit]:
                kinds_at[assessment.visit].append(assessment.kind)
    missed = repository.missed_visits(session, subject_id)
    planned = [
        PlannedVisitOut(
            visit=BASELINE,
            target_on=None,
            window_start=None,
            window_end=row.first_infusion_on,
            assessments=kinds_at.get(BASELINE, []),
            missed=False,
        )
    ]
    schedule = schedule_service.schedule_for(session, row.trial_id)
    last_on = last_infusion_on(row)
    pending_reason = None
    if schedule is None:
        pending_reason = "the trial has no visit schedule registered"
    elif last_on is None:
        pending_reason = "the subject's last infusion is not known yet"
    else:
        planned.extend(
            PlannedVisitOut(
                visit=visit.code,
                target_on=visit.target_on,
                window_start=visit.window_start,
                window_end=visit.window_end,
                assessments=kinds_at.get(visit.code, []),
                missed=visit.code in missed,
            )
            for visit in calendar(last_on, schedule)
        )
    return row, SubjectOut(
        subject_id=row.subject_id,
        trial_id=row.trial_id,
        known_to_imaging=True,
        dose_level=row.dose_level,
        cohort_number=row.cohort_number,
        site_time_zone=row.site_time_zone,
        first_infusion_on=row.first_infusion_on,
        last_infusion_at=row.last_infusion_at,
        last_infusion_on=last_on,
        calendar=planned,
        calendar_pending_reason=pending_reason,
    )
