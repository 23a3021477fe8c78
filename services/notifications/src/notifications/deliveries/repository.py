"""Every query on deliveries and their attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus
from notifications.subscriptions.models import Subscription


def add_for_event(
    session: Session,
    *,
    position: int,
    event_id: str,
    subscription_ids: Sequence[uuid.UUID],
    due: datetime,
) -> None:
    if not subscription_ids:
        return
    session.execute(
        insert(Delivery)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "event_position": position,
                    "event_id": event_id,
                    "subscription_id": subscription_id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "replays": 0,
                    "next_attempt_at": due,
                }
                for subscription_id in subscription_ids
            ]
        )
        .on_conflict_do_nothing(index_elements=[Delivery.subscription_id, Delivery.event_position])
    )


def schedule_replay(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    events: Sequence[tuple[int, str]],
    due: datetime,
) -> int:
    """Queue these events again for the subscription, whatever happened to them before.

    The webhook-id stays the event id, so a receiver that already has the event can drop it.
    """
    if not events:
        return 0
    statement = insert(Delivery).values(
        [
            {
                "id": uuid.uuid4(),
                "event_position": position,
                "event_id": event_id,
                "subscription_id": subscription_id,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "replays": 1,
                "next_attempt_at": due,
            }
            for position, event_id in events
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Delivery.subscription_id, Delivery.event_position],
            set_={
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": due,
                "replays": Delivery.replays + 1,
            },
        )
    )
    return len(events)


def claim_due(session: Session, *, now: datetime, slots: int) -> Delivery | None:
    """The oldest due delivery of an active subscription with a free slot, locked for this
    transaction.

    SKIP LOCKED lets several dispatcher threads (and workers) share the queue; the row lock
    held through the HTTP attempt guarantees one attempt at a time per delivery. Each
    subscription has `slots` transaction-level advisory locks, shared by every worker: a slow
    receiver ties up its own slots only, never every thread, and its deliveries beyond them
    stay pending for the next pass.
    """
    waiting = session.execute(
        select(Delivery.subscription_id)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING.value,
            Delivery.next_attempt_at <= now,
            Subscription.active,
            Subscription.deleted_at.is_(None),
        )
        .group_by(Delivery.subscription_id)
        .order_by(func.min(Delivery.next_attempt_at), func.min(Delivery.event_position))
    ).scalars()
    for subscription_id in list(waiting):
        # A savepoint per try: rolling it back releases the slot (and any row lock) taken in it.
        attempt = session.begin_nested()
        if _take_slot(session, subscription_id, slots):
            delivery = session.scalars(
                select(Delivery)
                .where(
                    Delivery.subscription_id == subscription_id,
                    Delivery.status == DeliveryStatus.PENDING.value,
                    Delivery.next_attempt_at <= now,
                )
                .order_by(Delivery.next_attempt_at, Delivery.event_position)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if delivery is not None:
                attempt.commit()
                return delivery
        attempt.rollback()
    return None


def _take_slot(session: Session, subscription_id: uuid.UUID, slots: int) -> bool:
    key = func.hashtext(f"notifications.delivery-slots.{subscription_id}")
    return any(
        session.scalar(select(func.pg_try_advisory_xact_lock(key, slot))) for slot in range(slots)
    )


def add_attempt(session: Session, attempt: DeliveryAttempt) -> None:
    session.add(attempt)


def resume_pending(session: Session, *, subscription_id: uuid.UUID, due: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription_id,
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(next_attempt_at=due)
    )


def cancel_pending(session: Session, *, subscription_id: uuid.UUID) -> None:
    session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription_id,
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
    )


def page_for_subscription(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    status: str | None,
    after: int,
    limit: int,
) -> list[Delivery]:
    query = select(Delivery).where(
        Delivery.subscription_id == subscription_id, Delivery.event_position > after
    )
    if status is not None:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query.order_by(Delivery.event_position).limit(limit)))


def get(session: Session, *, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
    return session.scalars(
        select(Delivery).where(
            Delivery.id == delivery_id, Delivery.subscription_id == subscription_id
        )
    ).first()


def attempts_of(session: Session, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        )
    )
