"""HTTP API of subjects as safety knows them: read, and record the baseline conditions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from safety.adverse_events import service as adverse_events
from safety.subjects import service
from safety.subjects.schemas import BaselineIn, SubjectOut

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Editor = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR, Role.COORDINATOR))]


@router.get("/{subject_id}", summary="A subject: enrolment facts, DLT window and baseline")
def get_subject(subject_id: str, response: Response, session: DbSession, _: Reader) -> SubjectOut:
    row = service.require_subject(session, subject_id)
    response.headers["ETag"] = etag(row.version)
    return SubjectOut.of(row)


@router.put(
    "/{subject_id}/baseline",
    summary="Record the baseline: pneumonitis grade, oxygen use, other pre-existing conditions",
)
def put_baseline(
    subject_id: str,
    body: BaselineIn,
    response: Response,
    session: DbSession,
    principal: Editor,
    if_match: IfMatchHeader = None,
) -> SubjectOut:
    row = service.record_baseline(
        session, subject_id, body, if_match=if_match, actor=principal.audit_name
    )
    # Worsening is measured from the baseline: a new baseline re-applies the DLT rules.
    adverse_events.reassess_subject(session, row, actor=principal.audit_name)
    response.headers["ETag"] = etag(row.version)
    return SubjectOut.of(row)
