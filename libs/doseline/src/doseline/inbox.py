"""Inbox: each consumer handles an event once, keyed by its id, in the handler's transaction."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline.events import Envelope
from doseline.schema import ServiceSchema


def claim(session: Session, envelope: Envelope, *, consumer: str) -> bool:
    """Record that `consumer` handles this event; False if it already did (a redelivery).

    The row is written in the same transaction as the handler's changes, so a handler that
    fails leaves no claim behind and the redelivered message is handled again. Two copies of
    the message arriving at once serialise on the primary key: the second waits, then sees
    the first's row and is dropped.
    """
    inbox = ServiceSchema.of(session).kit.inbox
    claimed = session.execute(
        insert(inbox)
        .values(
            event_id=envelope.id,
            consumer=consumer,
            event_type=envelope.type,
            source=envelope.source,
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.event_id, inbox.c.consumer])
        .returning(inbox.c.event_id)
    ).first()
    return claimed is not None
