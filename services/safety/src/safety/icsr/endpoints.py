"""HTTP API of ICH E2B(R3) case safety reports: the latest message of a serious AE, the list
of its messages, and each message again (application/xml), for a sponsor's safety gateway."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.http import DbSession
from safety.adverse_events import service as adverse_events
from safety.icsr import service
from safety.icsr.models import IcsrMessageRow
from safety.icsr.schemas import IcsrMessageOut

router = APIRouter(tags=["serious adverse events"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
XML = "application/xml"
NOT_SERIOUS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The adverse event has never been serious: it has no case safety report"}
}
XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {XML: {"schema": {"type": "string"}}},
        "description": "The ICH E2B(R3) batch (MCCI_IN200100UV01) carrying the ICSR",
    },
    **NOT_SERIOUS,
}


@router.get(
    "/v1/adverse-events/{ae_id}/icsr",
    summary="The latest ICH E2B(R3) case safety report message of a serious adverse event",
    response_class=Response,
    responses=XML_RESPONSE,
)
def latest_icsr(ae_id: uuid.UUID, request: Request, session: DbSession, _: Reader) -> Response:
    ae = adverse_events.require_adverse_event(session, ae_id)
    return _xml(request, service.require_messages(session, ae)[-1])


@router.get(
    "/v1/adverse-events/{ae_id}/icsr/messages",
    summary="Every E2B(R3) message of a serious adverse event: initial, follow-ups, nullification",
    responses=NOT_SERIOUS,
)
def list_icsr_messages(ae_id: uuid.UUID, session: DbSession, _: Reader) -> list[IcsrMessageOut]:
    ae = adverse_events.require_adverse_event(session, ae_id)
    return [_out(row) for row in service.require_messages(session, ae)]


@router.get(
    "/v1/adverse-events/{ae_id}/icsr/messages/{number}",
    summary="One E2B(R3) message of a serious adverse event, the same bytes every time",
    response_class=Response,
    responses=XML_RESPONSE,
)
def get_icsr_message(
    ae_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=100_000)],
    request: Request,
    session: DbSession,
    _: Reader,
) -> Response:
    ae = adverse_events.require_adverse_event(session, ae_id)
    return _xml(request, service.require_message(session, ae, number))


def _xml(request: Request, row: IcsrMessageRow) -> Response:
    body = service.render(row, service.parties(request.app.state.settings))
    return Response(
        content=body,
        media_type=XML,
        headers={
            "Content-Disposition": (f'inline; filename="{row.safety_report_id}-{row.number}.xml"'),
            "Content-Location": service.message_path(row.ae_id, row.number),
        },
    )


def _out(row: IcsrMessageRow) -> IcsrMessageOut:
    return IcsrMessageOut(
        ae_id=row.ae_id,
        number=row.number,
        kind=row.kind,
        safety_report_id=row.safety_report_id,
        ae_version=row.ae_version,
        created_at=row.created_at,
        href=service.message_path(row.ae_id, row.number),
    )
