"""HTTP API of a trial's visit schedule and reference equations (admin configures)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from imaging.assessments import service as assessments
from imaging.pft.reference import Gli2012Ethnicity, ReferenceEquation
from imaging.schedule import repository, service
from imaging.schedule.schemas import VisitScheduleIn, VisitScheduleOut
from imaging.schedule.visits import FollowUpVisit
from imaging.subjects import repository as subjects_repository
from imaging.walk.reference import WalkEquation

router = APIRouter(prefix="/v1/trials", tags=["visit schedule"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
TrialId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


@router.get("/{trial_id}/visit-schedule", summary="A trial's visit schedule and equations")
def get_visit_schedule(
    trial_id: TrialId, response: Response, session: DbSession, _: Reader
) -> VisitScheduleOut:
    row = service.require(session, trial_id)
    response.headers["ETag"] = etag(row.version)
    return VisitScheduleOut.of(row)


@router.put(
    "/{trial_id}/visit-schedule",
    summary="Register or change a trial's visit schedule and reference equations",
    description="Creating needs no If-Match; changing needs If-Match and a reason. Every "
    "assessment of the trial is reassigned to the new schedule's visits.",
)
def put_visit_schedule(
    trial_id: TrialId,
    body: VisitScheduleIn,
    response: Response,
    session: DbSession,
    principal: Admin,
    if_match: IfMatchHeader = None,
) -> VisitScheduleOut:
    repository.lock_trial(session, trial_id)
    existing = repository.trial_settings(session, trial_id, lock=True)
    if existing is not None:
        check_if_match(if_match, current_version=existing.version)
    schedule = service.validated_schedule(
        [FollowUpVisit(v.code, v.months_after_last_infusion, v.window_days) for v in body.follow_up]
    )
    references = service.ReferenceChoice(
        spirometry_equation=ReferenceEquation(body.spirometry_equation),
        gli_2012_ethnicity=(
            None if body.gli_2012_ethnicity is None else Gli2012Ethnicity[body.gli_2012_ethnicity]
        ),
        walk_equation=WalkEquation(body.walk_equation),
    )
    row = service.register(
        session,
        trial_id=trial_id,
        schedule=schedule,
        references=references,
        actor=principal.audit_name,
        reason=body.reason,
        existing=existing,
    )
    # Locked: an assessment being recorded meanwhile is placed by the schedule it commits after.
    for subject in subjects_repository.subjects_of_trial(session, trial_id, lock=True):
        assessments.reassign_visits(session, subject, actor=principal.audit_name)
    response.headers["ETag"] = etag(row.version)
    return VisitScheduleOut.of(row)
