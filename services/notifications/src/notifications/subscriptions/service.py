"""Use cases of webhook subscriptions: create, change, delete, rotate the secret, replay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, pagination
from doseline.auth import ALL_SITES, Principal
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.etags import check_if_match
from doseline.pagination import MAX_PAGE_SIZE
from notifications.deliveries import repository as deliveries
from notifications.event_log import repository as event_log
from notifications.event_log.service import checked_patterns, serves_site
from notifications.problems import REPLAY_TOO_LARGE, WEBHOOK_TARGET_REFUSED
from notifications.settings import NotificationsSettings
from notifications.subscriptions import repository
from notifications.subscriptions.models import Subscription, SubscriptionSecret
from notifications.subscriptions.schemas import (
    ReplayRequest,
    ReplayScheduled,
    SecretInfo,
    SecretRotated,
    SecretRotation,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionUpdate,
)
from notifications.subscriptions.secrets import SecretBox, new_secret
from notifications.subscriptions.targets import Resolver, TargetRefused, check_target

# One replay request schedules at most this many events; ask again for a later range.
MAX_REPLAY_EVENTS = 10_000


def _checked_url(url: str, *, settings: NotificationsSettings, resolve: Resolver | None) -> str:
    try:
        if resolve is None:
            check_target(url, allowed=settings.allowed_target_networks)
        else:
            check_target(url, allowed=settings.allowed_target_networks, resolve=resolve)
    except TargetRefused as error:
        raise InvalidInput.at(["body", "url"], str(error), problem=WEBHOOK_TARGET_REFUSED) from None
    return url


def _snapshot(subscription: Subscription) -> dict[str, Any]:
    """What the audit trail records of a subscription (never its secret)."""
    return {
        "url": subscription.url,
        "description": subscription.description,
        "event_types": list(subscription.event_types),
        "sites": list(subscription.sites),
        "active": subscription.active,
        "disabled_reason": subscription.disabled_reason,
    }


def _checked_sites(requested: list[str] | None, principal: Principal) -> list[str]:
    """The sites a new subscription serves: those asked for, each one of the caller's (403)."""
    if requested is None:
        return sorted(principal.sites) if not principal.all_sites else [ALL_SITES]
    for site_id in requested:
        principal.require_site(site_id)
    return [ALL_SITES] if ALL_SITES in requested else sorted(set(requested))


def view(
    session: Session,
    subscription: Subscription,
    *,
    now: datetime,
    secrets: Sequence[SubscriptionSecret] | None = None,
) -> SubscriptionOut:
    if secrets is None:
        secrets = repository.valid_secrets(session, subscription.id, at=now)
    return SubscriptionOut(
        id=subscription.id,
        url=subscription.url,
        description=subscription.description,
        event_types=list(subscription.event_types),
        sites=list(subscription.sites),
        active=subscription.active,
        disabled_reason=subscription.disabled_reason,
        disabled_at=subscription.disabled_at,
        consecutive_failures=subscription.consecutive_failures,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
        version=subscription.version,
        secrets=[SecretInfo(created_at=s.created_at, expires_at=s.expires_at) for s in secrets],
    )


def _found(session: Session, subscription_id: uuid.UUID, *, lock: bool = False) -> Subscription:
    subscription = repository.get(session, subscription_id, lock=lock)
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


def _issue_secret(
    session: Session,
    settings: NotificationsSettings,
    subscription_id: uuid.UUID,
    moment: datetime,
) -> str:
    """A new signing secret for the subscription, stored sealed; returned in clear, once."""
    secret = new_secret()
    repository.add_secret(
        session,
        SubscriptionSecret(
            id=uuid.uuid4(),
            subscription_id=subscription_id,
            secret=SecretBox(settings.secret_key.get_secret_value()).seal(secret),
            created_at=moment,
            expires_at=None,
        ),
    )
    return secret


def create(
    session: Session,
    *,
    request: SubscriptionCreate,
    actor: str,
    settings: NotificationsSettings,
    principal: Principal,
    resolve: Resolver | None = None,
    now: datetime | None = None,
) -> SubscriptionCreated:
    moment = now or datetime.now(UTC)
    url = _checked_url(request.url, settings=settings, resolve=resolve)
    patterns = checked_patterns(request.event_types, field=["body", "event_types"])
    sites = _checked_sites(request.sites, principal)
    subscription = Subscription(
        id=uuid.uuid4(),
        url=url,
        description=request.description,
        event_types=sorted(set(patterns)),
        sites=sites,
        active=True,
        consecutive_failures=0,
        created_by=actor,
        created_at=moment,
        updated_at=moment,
    )
    repository.add(session, subscription)
    secret = _issue_secret(session, settings, subscription.id, moment)
    audit.record(
        session,
        actor=actor,
        action="subscription.create",
        entity_type="subscription",
        entity_id=str(subscription.id),
        after=_snapshot(subscription),
    )
    out = view(session, subscription, now=moment)
    return SubscriptionCreated(**out.model_dump(), secret=secret)


def one(session: Session, subscription_id: uuid.UUID) -> Subscription:
    return _found(session, subscription_id)


SUBSCRIPTION_ORDER = pagination.Keyset(id=uuid.UUID)


def page(
    session: Session, *, cursor: str | None, limit: int, principal: Principal
) -> SubscriptionPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.at(["query", "limit"], f"between 1 and {MAX_PAGE_SIZE}")
    (after,) = SUBSCRIPTION_ORDER.read(cursor) or (None,)
    rows = repository.page_after(session, after=after, limit=limit + 1, principal=principal)
    page = SUBSCRIPTION_ORDER.page(rows, limit=limit, key=lambda row: (row.id,))
    now = datetime.now(UTC)
    secrets = repository.valid_secrets_of(session, [row.id for row in page.items], at=now)
    return SubscriptionPage(
        items=[view(session, row, now=now, secrets=secrets.get(row.id, [])) for row in page.items],
        next_cursor=page.next_cursor,
    )


def update(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    request: SubscriptionUpdate,
    if_match: str | None,
    actor: str,
    settings: NotificationsSettings,
    resolve: Resolver | None = None,
    now: datetime | None = None,
) -> Subscription:
    moment = now or datetime.now(UTC)
    subscription = _found(session, subscription_id, lock=True)
    check_if_match(if_match, current_version=subscription.version)
    before = _snapshot(subscription)
    # Every change is flushed as one new version (the ETag moves by exactly one).
    subscription.updated_at = moment
    if request.url is not None:
        subscription.url = _checked_url(request.url, settings=settings, resolve=resolve)
    if request.event_types is not None:
        patterns = checked_patterns(request.event_types, field=["body", "event_types"])
        subscription.event_types = sorted(set(patterns))
    if request.description is not None:
        subscription.description = request.description
    if request.active is True and not subscription.active:
        # Re-enabling after an automatic disable: start afresh and send what was waiting.
        subscription.active = True
        subscription.disabled_reason = None
        subscription.disabled_at = None
        subscription.consecutive_failures = 0
        deliveries.resume_pending(session, subscription_id=subscription.id, due=moment)
    elif request.active is False and subscription.active:
        subscription.active = False
        subscription.disabled_reason = f"paused by {actor}"
        subscription.disabled_at = moment
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="subscription.update",
        entity_type="subscription",
        entity_id=str(subscription.id),
        before=before,
        after=_snapshot(subscription),
    )
    return subscription


def delete(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    if_match: str | None,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Stop the subscription for good; its delivery log stays for inspection."""
    moment = now or datetime.now(UTC)
    subscription = _found(session, subscription_id, lock=True)
    check_if_match(if_match, current_version=subscription.version)
    before = _snapshot(subscription)
    subscription.active = False
    subscription.deleted_at = moment
    subscription.updated_at = moment
    deliveries.cancel_pending(session, subscription_id=subscription.id)
    for secret in repository.valid_secrets(session, subscription.id, at=moment):
        secret.expires_at = moment
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="subscription.delete",
        entity_type="subscription",
        entity_id=str(subscription.id),
        before=before,
    )


def rotate_secret(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    request: SecretRotation,
    actor: str,
    settings: NotificationsSettings,
    now: datetime | None = None,
) -> SecretRotated:
    """A new current secret; the old one keeps signing (alongside) for the overlap."""
    moment = now or datetime.now(UTC)
    subscription = _found(session, subscription_id, lock=True)
    overlap = timedelta(
        hours=request.overlap_hours
        if request.overlap_hours is not None
        else settings.secret_overlap_hours
    )
    previous = repository.current_secret(session, subscription.id)
    previous_expires: datetime | None = None
    if previous is not None:
        previous_expires = moment + overlap
        previous.expires_at = previous_expires
    secret = _issue_secret(session, settings, subscription.id, moment)
    audit.record(
        session,
        actor=actor,
        action="subscription.rotate_secret",
        entity_type="subscription",
        entity_id=str(subscription.id),
        after={"previous_secret_expires_at": previous_expires, "rotated_at": moment},
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=previous_expires)


def replay(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    request: ReplayRequest,
    actor: str,
    now: datetime | None = None,
) -> ReplayScheduled:
    moment = now or datetime.now(UTC)
    subscription = _found(session, subscription_id, lock=True)
    events: Sequence[tuple[int, str]]
    if request.event_id is not None:
        event = event_log.by_event_id(session, request.event_id)
        if event is None or not serves_site(subscription.sites, event.site_id):
            # An event of a site the subscription does not serve is, for it, not in the log.
            raise InvalidInput.at(["body", "event_id"], "no event with this id in the log")
        events = [(event.position, event.event_id)]
    else:
        if request.from_time is None or request.to_time is None:
            raise InvalidInput("send event_id, or both from_time and to_time")
        events = event_log.positions_between(
            session,
            patterns=subscription.event_types,
            sites=subscription.sites,
            start=request.from_time,
            end=request.to_time,
            limit=MAX_REPLAY_EVENTS + 1,
        )
        if len(events) > MAX_REPLAY_EVENTS:
            raise Conflict(
                f"more than {MAX_REPLAY_EVENTS} events in this range; replay a shorter range",
                problem=REPLAY_TOO_LARGE,
            )
    scheduled = deliveries.schedule_replay(
        session, subscription_id=subscription.id, events=events, due=moment
    )
    audit.record(
        session,
        actor=actor,
        action="subscription.replay",
        entity_type="subscription",
        entity_id=str(subscription.id),
        after={
            "event_id": request.event_id,
            "from_time": request.from_time,
            "to_time": request.to_time,
            "scheduled": scheduled,
        },
    )
    return ReplayScheduled(scheduled=scheduled, event_ids=[event_id for _, event_id in events])
