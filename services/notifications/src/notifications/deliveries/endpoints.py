"""HTTP routes of the delivery log: every delivery of a subscription and each attempt."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from doseline import pagination
from doseline.auth import Principal, Role, require_roles
from doseline.http import DbSession
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
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> DeliveryPage:
    return service.page_of_subscription(
        session, subscription_id=subscription_id, status=status, cursor=cursor, limit=limit
    )


@router.get("/{delivery_id}", summary="One delivery with every attempt")
def get_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, _: Viewer
) -> DeliveryDetail:
    return service.detail(session, subscription_id, delivery_id)
