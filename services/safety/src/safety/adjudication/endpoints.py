"""HTTP API of suspected DLTs, their assessments and their signed adjudication."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from doseline import idempotency, pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse
from safety.adjudication import repository, service
from safety.adjudication.schemas import (
    AdjudicationIn,
    DltAssessmentOut,
    DltOut,
)
from safety.adverse_events import service as ae_service

router = APIRouter(tags=["dlt"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
SafetyPhysician = Annotated[Principal, Depends(require_roles(Role.SAFETY_PHYSICIAN))]


@router.get("/v1/dlts", summary="DLT cases of a trial, by status, in the order they last changed")
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
    return DltOut.of(row, list(repository.signatures(session, row.id)))


@router.post(
    "/v1/dlts/{dlt_id}/adjudication",
    summary="Confirm or rule out a suspected DLT with an electronic signature",
    response_model=DltOut,
)
def adjudicate_dlt(
    dlt_id: uuid.UUID,
    body: AdjudicationIn,
    request: Request,
    session: DbSession,
    principal: SafetyPhysician,
    if_match: IfMatchHeader = None,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        case = service.require_case(session, dlt_id, lock=True)
        check_if_match(if_match, current_version=case.version)
        service.adjudicate(
            session,
            case,
            decision=body.decision,
            principal=principal,
            comment=body.comment,
            now=datetime.now(UTC),
        )
        out = DltOut.of(case, list(repository.signatures(session, case.id)))
        return StoredResponse(200, out.model_dump(mode="json"), {"ETag": etag(case.version)})

    return idempotency.idempotent_response(
        session,
        request,
        principal=principal.subject,
        key=key,
        payload=body.model_dump(mode="json"),
        create=create,
    )


@router.get(
    "/v1/adverse-events/{ae_id}/dlt-assessments",
    summary="Every application of the DLT rules to this AE: protocol version, criteria, reasons",
)
def list_dlt_assessments(ae_id: uuid.UUID, session: DbSession, _: Reader) -> list[DltAssessmentOut]:
    ae_service.require_adverse_event(session, ae_id)
    return [DltAssessmentOut.of(row) for row in repository.assessments(session, ae_id)]
