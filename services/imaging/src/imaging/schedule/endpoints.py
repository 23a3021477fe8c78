"""HTTP API of a trial's visit schedule and reference equations (admin configures)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from imaging.assessments import service as assessments
from imaging.schedule import service
from imaging.schedule.schemas import VisitScheduleIn, VisitScheduleOut

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
    row = service.put(session, trial_id, body, if_match=if_match, actor=principal.audit_name)
    assessments.reassign_trial(session, trial_id, actor=principal.audit_name)
    response.headers["ETag"] = etag(row.version)
    return VisitScheduleOut.of(row)
