"""HTTP routes of webhook subscriptions: manage, rotate the secret, replay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from doseline.auth import Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from doseline.pagination import MAX_PAGE_SIZE
from notifications.settings import NotificationsSettings
from notifications.subscriptions import service
from notifications.subscriptions.schemas import (
    ReplayRequest,
    ReplayScheduled,
    SecretRotated,
    SecretRotation,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Viewer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.MONITOR))]


def _settings(request: Request) -> NotificationsSettings:
    settings = request.app.state.settings
    assert isinstance(settings, NotificationsSettings)
    return settings


Settings = Annotated[NotificationsSettings, Depends(_settings)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a webhook endpoint to event types",
    description=(
        "The response holds the signing secret; it is never shown again. A retry with the same "
        "Idempotency-Key gets the subscription with `secret` null and the header "
        "`Idempotent-Withheld: secret`: the secret is not kept anywhere in clear."
    ),
    response_model=SubscriptionCreated,
)
def create_subscription(
    body: SubscriptionCreate,
    request: Request,
    session: DbSession,
    principal: Admin,
    settings: Settings,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        created = service.create(
            session,
            request=body,
            actor=principal.audit_name,
            settings=settings,
            principal=principal,
        )
        shown = created.model_dump(mode="json")
        return StoredResponse(
            201,
            shown,
            {"ETag": etag(created.version), "Location": f"{request.url.path}/{created.id}"},
            kept_body={**shown, "secret": None},
            withheld="secret",
        )

    return idempotent_response(
        session,
        request,
        principal=principal.subject,
        key=key,
        payload=body.model_dump(mode="json"),
        create=create,
    )


@router.get("", summary="Webhook subscriptions")
def list_subscriptions(
    session: DbSession,
    principal: Viewer,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> SubscriptionPage:
    return service.page(session, cursor=cursor, limit=limit, principal=principal)


@router.get("/{subscription_id}", summary="One webhook subscription")
def get_subscription(
    subscription_id: uuid.UUID, response: Response, session: DbSession, _: Viewer
) -> SubscriptionOut:
    subscription = service.one(session, subscription_id)
    response.headers["ETag"] = etag(subscription.version)
    return service.view(session, subscription, now=datetime.now(UTC))


@router.patch(
    "/{subscription_id}",
    summary="Change a subscription's URL, event types, description, or pause / resume it",
)
def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionUpdate,
    response: Response,
    session: DbSession,
    principal: Admin,
    settings: Settings,
    if_match: IfMatchHeader = None,
) -> SubscriptionOut:
    subscription = service.update(
        session,
        subscription_id=subscription_id,
        request=body,
        if_match=if_match,
        actor=principal.audit_name,
        settings=settings,
    )
    response.headers["ETag"] = etag(subscription.version)
    return service.view(session, subscription, now=datetime.now(UTC))


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a subscription (pending deliveries are cancelled; the log stays)",
)
def delete_subscription(
    subscription_id: uuid.UUID, session: DbSession, principal: Admin, if_match: IfMatchHeader = None
) -> Response:
    service.delete(
        session, subscription_id=subscription_id, if_match=if_match, actor=principal.audit_name
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/secret/rotate",
    summary="Issue a new signing secret; the old one keeps signing for the overlap",
)
def rotate_secret(
    subscription_id: uuid.UUID,
    session: DbSession,
    principal: Admin,
    settings: Settings,
    body: SecretRotation | None = None,
) -> SecretRotated:
    return service.rotate_secret(
        session,
        subscription_id=subscription_id,
        request=body or SecretRotation(),
        actor=principal.audit_name,
        settings=settings,
    )


@router.post(
    "/{subscription_id}/replays",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deliver one event, or every matching event of a time range, again",
)
def replay(
    subscription_id: uuid.UUID, body: ReplayRequest, session: DbSession, principal: Admin
) -> ReplayScheduled:
    return service.replay(
        session, subscription_id=subscription_id, request=body, actor=principal.audit_name
    )
