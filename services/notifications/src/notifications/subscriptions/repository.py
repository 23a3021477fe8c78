"""Every query on subscriptions and their secrets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from doseline.auth import Principal
from notifications.subscriptions.models import Subscription, SubscriptionSecret


def not_deleted(session: Session) -> list[Subscription]:
    """Active, paused and disabled subscriptions: all of them collect deliveries."""
    return list(session.scalars(select(Subscription).where(Subscription.deleted_at.is_(None))))


def get(session: Session, subscription_id: uuid.UUID, *, lock: bool = False) -> Subscription | None:
    query = select(Subscription).where(
        Subscription.id == subscription_id, Subscription.deleted_at.is_(None)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Subscriptions serving only sites of the caller (all of them for sponsor-wide callers)."""
    if principal.all_sites:
        return true()
    condition: ColumnElement[bool] = Subscription.sites.contained_by(sorted(principal.sites))
    return condition


def sites_of(session: Session, value: str) -> list[str] | None:
    """The sites a subscription serves, for the site-scope guard (None: no such subscription)."""
    try:
        key = uuid.UUID(value)
    except ValueError:
        return None
    sites = session.scalars(select(Subscription.sites).where(Subscription.id == key)).first()
    return None if sites is None else list(sites)


def page_after(
    session: Session, *, after: uuid.UUID | None, limit: int, principal: Principal
) -> list[Subscription]:
    query = select(Subscription).where(Subscription.deleted_at.is_(None), visible_to(principal))
    if after is not None:
        query = query.where(Subscription.id > after)
    return list(session.scalars(query.order_by(Subscription.id).limit(limit)))


def add(session: Session, subscription: Subscription) -> None:
    session.add(subscription)
    session.flush()


def add_secret(session: Session, secret: SubscriptionSecret) -> None:
    session.add(secret)
    session.flush()


def valid_secrets(
    session: Session, subscription_id: uuid.UUID, *, at: datetime
) -> list[SubscriptionSecret]:
    """Secrets that sign at `at`: the current one and any rotated one still in its overlap."""
    return valid_secrets_of(session, [subscription_id], at=at).get(subscription_id, [])


def valid_secrets_of(
    session: Session, subscription_ids: Sequence[uuid.UUID], *, at: datetime
) -> dict[uuid.UUID, list[SubscriptionSecret]]:
    """`valid_secrets` of several subscriptions in one query, newest first for each."""
    found: dict[uuid.UUID, list[SubscriptionSecret]] = {}
    if not subscription_ids:
        return found
    rows = session.scalars(
        select(SubscriptionSecret)
        .where(
            SubscriptionSecret.subscription_id.in_(subscription_ids),
            or_(SubscriptionSecret.expires_at.is_(None), SubscriptionSecret.expires_at > at),
        )
        .order_by(SubscriptionSecret.subscription_id, SubscriptionSecret.created_at.desc())
    )
    for row in rows:
        found.setdefault(row.subscription_id, []).append(row)
    return found


def current_secret(session: Session, subscription_id: uuid.UUID) -> SubscriptionSecret | None:
    return session.scalars(
        select(SubscriptionSecret)
        .where(
            SubscriptionSecret.subscription_id == subscription_id,
            SubscriptionSecret.expires_at.is_(None),
        )
        .with_for_update()
    ).first()
