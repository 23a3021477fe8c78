"""HTTP API of a subject as imaging knows it: enrolment facts and the assessment calendar."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.etags import etag
from doseline.http import DbSession
from imaging.subjects import service
from imaging.subjects.schemas import SubjectOut

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


@router.get("/{subject_id}", summary="A subject's dose level, infusions and visit calendar")
def get_subject(subject_id: str, response: Response, session: DbSession, _: Reader) -> SubjectOut:
    row, subject = service.profile(session, subject_id)
    response.headers["ETag"] = etag(row.version)
    return subject
