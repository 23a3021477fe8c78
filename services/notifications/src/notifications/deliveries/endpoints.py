"""HTTP routes of the delivery log: every delivery of a subscription and each attempt."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from doseline.auth import Principal, Role, require_roles
from doseline.errors import InvalidInput, NotFound
from doseline.http import DbSession
from doseline.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from notifications.deliveries import repository
from notifications.deliveries.schemas import AttemptOut, DeliveryDetail, DeliveryOut, DeliveryPage
from notifications.subscriptions import service as subscriptions

router = APIRouter(prefix="/v1/subscriptions/{subscription_id}/deliveries", tags=["deliveries"])
Viewer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.MONITOR))]


@router.get("", summary="Deliveries of a subscription, in event order")
def list_deliveries(
    subscription_id: uuid.UUID,
    session: DbSession,
    _: Viewer,
    status: Literal["pending", "delivered", "failed", "cancelled"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> DeliveryPage:
    subscriptions.one(session, subscription_id)
    decoded = decode_cursor(cursor) or {"p": 0}
    after = decoded.get("p")
    if not isinstance(after, int) or isinstance(after, bool):
        raise InvalidInput.at(["query", "cursor"], "not a cursor this API issued")
    rows = repository.page_for_subscription(
        session, subscription_id=subscription_id, status=status, after=after, limit=limit + 1
    )
    shown = rows[:limit]
    return DeliveryPage(
        items=[DeliveryOut.model_validate(row, from_attributes=True) for row in shown],
        next_cursor=encode_cursor({"p": shown[-1].event_position}) if len(rows) > limit else None,
    )


@router.get("/{delivery_id}", summary="One delivery with every attempt")
def get_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, _: Viewer
) -> DeliveryDetail:
    delivery = repository.get(session, subscription_id=subscription_id, delivery_id=delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} for subscription {subscription_id}")
    attempts = repository.attempts_of(session, delivery.id)
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery, from_attributes=True).model_dump(),
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )
