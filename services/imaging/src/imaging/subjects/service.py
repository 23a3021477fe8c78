"""Subjects from enrollment's events (in any order), their site calendar days and visit calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, sitetime
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.errors import Conflict, NotFound
from imaging.subjects import repository
from imaging.subjects.models import SubjectRow


def snapshot(row: SubjectRow) -> dict[str, Any]:
    return {
        "trial_id": row.trial_id,
        "cohort_number": row.cohort_number,
        "dose_level": row.dose_level,
        "enrolled_at": row.enrolled_at,
        "site_time_zone": row.site_time_zone,
        "first_infusion_on": row.first_infusion_on,
        "first_infusion_at": row.first_infusion_at,
        "last_infusion_at": row.last_infusion_at,
        "highest_infusion_number": row.highest_infusion_number,
    }


def site_day(moment: datetime, zone: str | None) -> date:
    """The site's calendar day of an instant (PROTOCOL.md visit days are site days)."""
    return sitetime.site_date(moment, zone)


def last_infusion_on(row: SubjectRow) -> date | None:
    if row.last_infusion_at is None or row.site_time_zone is None:
        return None
    return site_day(row.last_infusion_at, row.site_time_zone)


def record_enrolment(session: Session, event: SubjectEnrolled) -> SubjectRow:
    row = repository.lock_new_subject(session, event.subject_id, event.trial_id)
    before = snapshot(row)
    row.trial_id = event.trial_id
    row.cohort_number = event.cohort_number
    row.dose_level = event.dose_level
    row.enrolled_at = event.enrolled_at
    row.site_time_zone = event.site_time_zone
    repository.add_hospital_hashes(session, event.subject_id, event.hospital_id_hashes)
    session.flush()
    audit.record(
        session,
        actor="event <enrollment.subject.enrolled>",
        action="subject.enrolled",
        entity_type="subject",
        entity_id=row.subject_id,
        before=before,
        after=snapshot(row),
    )
    return row


def record_infusion(session: Session, event: InfusionAdministered) -> SubjectRow:
    """Day 1 from any infusion; the last infusion from the one marked last (any arrival order)."""
    row = repository.lock_new_subject(session, event.subject_id, event.trial_id)
    before = snapshot(row)
    row.first_infusion_on = event.first_infusion_on
    if event.infusion_number == 1:
        row.first_infusion_at = event.administered_at
    if event.is_last:
        row.last_infusion_at = event.administered_at
    row.highest_infusion_number = max(row.highest_infusion_number, event.infusion_number)
    session.flush()
    audit.record(
        session,
        actor="event <enrollment.infusion.administered>",
        action="subject.infusion",
        entity_type="subject",
        entity_id=row.subject_id,
        before=before,
        after=snapshot(row),
    )
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
        raise Conflict(
            f"imaging has not yet received the enrolment of subject {subject_id!r} from "
            "enrollment; check the study subject id, or retry once the enrolment has arrived",
            slug="subject-not-known-yet",
            title="Subject not known to imaging yet",
        )
    return row
