"""Transactional outbox: events are rows written in the transaction of the change they announce."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from doseline import bulk
from doseline.events import Envelope, EventContract
from doseline.logging import correlation_id
from doseline.schema import ServiceSchema


def add(session: Session, envelope: Envelope) -> None:
    """Queue an envelope for publication when (and only if) the session's transaction commits."""
    schema = ServiceSchema.of(session)
    outbox = schema.kit.outbox
    # NOTIFY is transactional too: the relay wakes only after the commit makes the row visible.
    # It is sent by the statement that stores the row (one round trip, not two).
    notified = select(func.pg_notify(schema.notify_channel, envelope.id)).subquery()
    row = select(
        bindparam("event_id", envelope.id, type_=outbox.c.event_id.type),
        bindparam("event_type", envelope.type, type_=outbox.c.event_type.type),
        bindparam("envelope", envelope.model_dump(mode="json"), type_=outbox.c.envelope.type),
    ).select_from(notified)
    session.execute(insert(outbox).from_select(["event_id", "event_type", "envelope"], row))


def add_all(session: Session, envelopes: Sequence[Envelope]) -> None:
    """Queue many envelopes at once: one INSERT of one array per column (doseline.bulk), in
    the given order, and one NOTIFY (the relay reads every row pending when it wakes)."""
    if not envelopes:
        return
    schema = ServiceSchema.of(session)
    rows = [
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "envelope": envelope.model_dump(mode="json"),
        }
        for envelope in envelopes
    ]
    session.execute(bulk.insert_rows(schema.kit.outbox, rows))
    session.execute(select(func.pg_notify(schema.notify_channel, envelopes[-1].id)))


def record_event(
    session: Session,
    contract: EventContract,
    *,
    subject: str | None,
) -> Envelope:
    """Build the envelope for `contract` from this service and add it to the outbox."""
    schema = ServiceSchema.of(session)
    envelope = contract.envelope(
        source=f"urn:doseline:{schema.name}",
        subject=subject,
        correlation_id=correlation_id(),
    )
    add(session, envelope)
    return envelope


def record_events(
    session: Session, events: Sequence[tuple[EventContract, str | None]]
) -> list[Envelope]:
    """`record_event` for many events of one change (each with its CloudEvents subject), written
    together (`add_all`)."""
    schema = ServiceSchema.of(session)
    source = f"urn:doseline:{schema.name}"
    correlation = correlation_id()
    envelopes = [
        contract.envelope(source=source, subject=subject, correlation_id=correlation)
        for contract, subject in events
    ]
    add_all(session, envelopes)
    return envelopes


def pending_count(session: Session) -> int:
    schema = ServiceSchema.of(session)
    outbox = schema.kit.outbox
    return (
        session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        or 0
    )
