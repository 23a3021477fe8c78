"""HTTP routes of dose orders: an investigator holds or reduces a subject's dose."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from doseline.pagination import Page
from enrollment.dose_orders import service
from enrollment.dose_orders.models import DoseOrder
from enrollment.dose_orders.schemas import DoseOrderCreate, DoseOrderOut, HoldResolution
from enrollment.workflows import dose_orders as dose_order_workflow

router = APIRouter(tags=["dose orders"])

Investigator = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
ORDER_TIME = pagination.Keyset(ordered_at=datetime, id=uuid.UUID)


def order_out(row: DoseOrder) -> DoseOrderOut:
    return DoseOrderOut.model_validate(row, from_attributes=True)


@router.post(
    "/v1/subjects/{subject_id}/dose-orders",
    status_code=status.HTTP_201_CREATED,
    response_model=DoseOrderOut,
    summary=(
        "Hold the subject's dose (nothing prepared or given until released) or reduce it"
        " (every later dose at a % of the level's), with the reason (investigator)"
    ),
)
def order_dose(
    subject_id: str,
    body: DoseOrderCreate,
    request: Request,
    session: DbSession,
    principal: Investigator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = dose_order_workflow.order_dose(
            session, subject_id=subject_id, body=body, principal=principal, now=datetime.now(UTC)
        )
        return StoredResponse(201, order_out(row).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.post(
    "/v1/subjects/{subject_id}/dose-hold/resolution",
    response_model=DoseOrderOut,
    summary="Release the subject's dose hold, or make it permanent (investigator)",
)
def resolve_hold(
    subject_id: str,
    body: HoldResolution,
    request: Request,
    session: DbSession,
    principal: Investigator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = dose_order_workflow.resolve_hold(
            session,
            subject_id=subject_id,
            outcome=body.outcome,
            reason=body.reason,
            principal=principal,
            now=datetime.now(UTC),
        )
        return StoredResponse(200, order_out(row).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get(
    "/v1/subjects/{subject_id}/dose-orders",
    response_model=Page[DoseOrderOut],
    summary="The subject's dose holds and reductions, oldest first",
)
def list_orders(
    subject_id: str,
    session: DbSession,
    _: Reader,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
    cursor: pagination.CursorQuery = None,
) -> Page[DoseOrderOut]:
    rows = service.orders_of(session, subject_id, after=ORDER_TIME.read(cursor), limit=limit + 1)
    page = ORDER_TIME.page(rows, limit=limit, key=lambda row: (row.ordered_at, row.id))
    return page.shown_as(order_out)
