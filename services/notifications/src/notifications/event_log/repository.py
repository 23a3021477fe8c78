"""Every query on the event log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from doseline.auth import ALL_SITES, Principal
from doseline.events import Envelope
from doseline.site_scope import in_scope
from notifications.event_log.models import LoggedEvent
from notifications.event_log.patterns import pattern_regex

APPEND_LOCK = "notifications.event_log.append"


def lock_for_append(session: Session) -> None:
    """Serialise appends until this transaction ends.

    A bigserial alone hands out positions in call order but transactions commit in any
    order, so a reader could see position 8 before 7 commits and skip 7 for good. Holding
    one lock from taking a position to the commit makes positions visible in order.
    """
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(APPEND_LOCK))))


def insert_if_new(session: Session, envelope: Envelope) -> int | None:
    """Append the envelope; its position, or None if the event is already in the log."""
    data = envelope.data
    trial_id = data.get("trial_id")
    subject_id = data.get("subject_id")
    site_id = data.get("site_id")
    position: int | None = session.execute(
        insert(LoggedEvent)
        .values(
            event_id=envelope.id,
            event_type=envelope.type,
            source=envelope.source,
            subject=envelope.subject,
            trial_id=trial_id if isinstance(trial_id, str) else None,
            subject_id=subject_id if isinstance(subject_id, str) else None,
            site_id=site_id if isinstance(site_id, str) else None,
            occurred_at=envelope.time,
            envelope=envelope.model_dump(mode="json"),
        )
        .on_conflict_do_nothing(index_elements=[LoggedEvent.event_id])
        .returning(LoggedEvent.position)
    ).scalar_one_or_none()
    return position


def type_filter(patterns: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        *((literal(".") + LoggedEvent.event_type).regexp_match(pattern_regex(p)) for p in patterns)
    )


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Trial-level events, and the events about subjects of the caller's sites."""
    return or_(LoggedEvent.site_id.is_(None), in_scope(LoggedEvent.site_id, principal))


def within_sites(sites: Sequence[str]) -> ColumnElement[bool]:
    """The events a subscription serving `sites` (`*`: every site) may receive."""
    if ALL_SITES in sites:
        return true()
    return or_(LoggedEvent.site_id.is_(None), LoggedEvent.site_id.in_(sorted(sites)))


def page_after(
    session: Session,
    *,
    after: int,
    limit: int,
    patterns: Sequence[str],
    trial_id: str | None,
    subject_id: str | None,
    principal: Principal,
) -> list[LoggedEvent]:
    query = select(LoggedEvent).where(LoggedEvent.position > after, visible_to(principal))
    if patterns:
        query = query.where(type_filter(patterns))
    if trial_id is not None:
        query = query.where(LoggedEvent.trial_id == trial_id)
    if subject_id is not None:
        query = query.where(LoggedEvent.subject_id == subject_id)
    return list(session.scalars(query.order_by(LoggedEvent.position).limit(limit)))


def by_event_id(session: Session, event_id: str) -> LoggedEvent | None:
    return session.scalars(select(LoggedEvent).where(LoggedEvent.event_id == event_id)).first()


def by_position(session: Session, position: int) -> LoggedEvent | None:
    return session.get(LoggedEvent, position)


def positions_between(
    session: Session,
    *,
    patterns: Sequence[str],
    sites: Sequence[str],
    start: datetime,
    end: datetime,
    limit: int,
) -> list[tuple[int, str]]:
    """(position, event id) of the events of these types that occurred in [start, end)."""
    rows = session.execute(
        select(LoggedEvent.position, LoggedEvent.event_id)
        .where(
            LoggedEvent.occurred_at >= start,
            LoggedEvent.occurred_at < end,
            type_filter(patterns),
            within_sites(sites),
        )
        .order_by(LoggedEvent.position)
        .limit(limit)
    ).all()
    return [(row.position, row.event_id) for row in rows]


def after_position(session: Session, *, after: int, limit: int) -> list[LoggedEvent]:
    return list(
        session.scalars(
            select(LoggedEvent)
            .where(LoggedEvent.position > after)
            .order_by(LoggedEvent.position)
            .limit(limit)
        )
    )
