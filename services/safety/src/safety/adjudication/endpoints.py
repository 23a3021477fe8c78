"""HTTP API of DLT cases with their signatures.

The signed adjudication (`POST /v1/dlts/{dlt_id}/adjudication`) and an AE's DLT assessments are
served by `safety.adverse_events.endpoints`: a signature covers the AE version it was raised on.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.etags import etag
from doseline.http import DbSession
from safety.adjudication import service
from safety.adjudication.schemas import DltOut

router = APIRouter(tags=["dlt"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


@router.get("/v1/dlts", summary="DLT cases of a trial, by status, in the order they were opened")
def list_dlts(
    request: Request,
    response: Response,
    session: DbSession,
    principal: Reader,
    trial_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[
        Literal["suspected", "confirmed", "ruled_out", "withdrawn"] | None, Query()
    ] = None,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> list[DltOut]:
    page = service.case_page(
        session, trial_id=trial_id, status=status, cursor=cursor, limit=limit, principal=principal
    )
    response.headers.update(pagination.next_link(request, page.next_cursor))
    return page.items


@router.get("/v1/dlts/{dlt_id}", summary="One DLT case with its signatures")
def get_dlt(dlt_id: uuid.UUID, response: Response, session: DbSession, _: Reader) -> DltOut:
    row = service.require_case(session, dlt_id)
    response.headers["ETag"] = etag(row.version)
    return DltOut.of(row, service.signatures_of(session, row))
