"""HTTP API of a subject as imaging knows it: enrolment facts and the assessment calendar."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.etags import etag
from doseline.http import DbSession
from imaging.assessments import repository as assessments
from imaging.schedule import service as schedule_service
from imaging.schedule.visits import BASELINE, calendar
from imaging.subjects import repository, service
from imaging.subjects.schemas import PlannedVisitOut, SubjectOut

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


@router.get("/{subject_id}", summary="A subject's dose level, infusions and visit calendar")
def get_subject(subject_id: str, response: Response, session: DbSession, _: Reader) -> SubjectOut:
    row = service.require_known(session, subject_id, reading=True)
    rows = assessments.of_subject(session, subject_id, include_voided=False)
    kinds_at: dict[str, list[str]] = {}
    for assessment in rows:
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
    last_on = service.last_infusion_on(row)
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
    response.headers["ETag"] = etag(row.version)
    return SubjectOut(
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
