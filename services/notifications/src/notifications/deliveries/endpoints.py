"""HTTP routes of the delivery log: every delivery of a subscription and each attempt."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from doseline.auth import Principal, Role, require_roles
from doseline.http import DbSession
from doseline.pagination import MAX_PAGE_SIZE
from notifications.deliveries import service
from notifications.deliveries.schemas import DeliveryDetail, DeliveryPage

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
    return service.page_for_subscription(
        session, subscription_id, status=status, cursor=cursor, limit=limit
    )


@router.get("/{delivery_id}", summary="One delivery with every attempt")
def get_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, _: Viewer
) -> DeliveryDetail:
    return service.detail(session, subscription_id, delivery_id)
