"""Use cases of the event log: append a public event (and its deliveries), read the feed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from doseline import pagination
from doseline.auth import ALL_SITES, Principal
from doseline.errors import InvalidInput, NotFound
from doseline.events import Envelope
from doseline.pagination import MAX_PAGE_SIZE
from notifications.deliveries import repository as deliveries
from notifications.event_log import repository
from notifications.event_log.cloudevent import cloudevent
from notifications.event_log.models import LoggedEvent
from notifications.event_log.patterns import InvalidPattern, check_pattern, matches_any
from notifications.event_log.schemas import EventPage, FeedEvent
from notifications.subscriptions import repository as subscriptions


def append(session: Session, envelope: Envelope, *, now: datetime | None = None) -> int | None:
    """Append a public event and schedule its webhook deliveries, in one transaction.

    Returns the event's position, or None if the log already holds it (a redelivery, or a
    second copy published under the same id): an event is logged and delivered once.
    """
    repository.lock_for_append(session)
    position = repository.insert_if_new(session, envelope)
    if position is None:
        return None
    due = now or datetime.now(UTC)
    # Paused and disabled subscriptions collect deliveries too (they are not attempted), so
    # re-enabling one sends everything it missed, in order, without a manual replay.
    targets = [
        subscription.id
        for subscription in subscriptions.not_deleted(session)
        if matches_any(subscription.event_types, envelope.type)
        and serves_site(subscription.sites, envelope.data.get("site_id"))
    ]
    deliveries.add_for_event(
        session, position=position, event_id=envelope.id, subscription_ids=targets, due=due
    )
    return position


def serves_site(sites: Sequence[str], site_id: object) -> bool:
    """Whether a subscription serving `sites` receives an event of `site_id` (None: trial-level)."""
    return site_id is None or ALL_SITES in sites or site_id in sites


def as_feed_event(event: LoggedEvent) -> FeedEvent:
    return FeedEvent.model_validate(cloudevent(event.envelope, position=event.position))


LOG_ORDER = pagination.Keyset(p=int)


def checked_patterns(patterns: Sequence[str], *, field: list[str | int]) -> list[str]:
    checked: list[str] = []
    for index, pattern in enumerate(patterns):
        try:
            checked.append(check_pattern(pattern))
        except InvalidPattern as error:
            raise InvalidInput.at([*field, index], str(error)) from None
    return checked


# The forms a client may have from the API itself: a study subject id, or an event's CloudEvents
# `subject` ("subjects/HDMSC-RP-01-002"); a trial code, or "trials/HDMSC-RP-01".
_TRIAL = r"[A-Z0-9][A-Z0-9-]*"
_SUBJECT_FILTER = re.compile(rf"^(?:subjects/)?(?P<id>{_TRIAL}-\d{{3,}})$")
_TRIAL_FILTER = re.compile(rf"^(?:trials/)?(?P<id>{_TRIAL})$")


def subject_filter(value: str | None) -> str | None:
    """The study subject id a `subject` filter names, in any form the API itself writes."""
    if value is None:
        return None
    found = _SUBJECT_FILTER.match(value)
    if found is None:
        raise InvalidInput.at(
            ["query", "subject"],
            f"{value!r} is not a study subject id: give it as HDMSC-RP-01-002 or, as an "
            "event's `subject` reads, subjects/HDMSC-RP-01-002",
        )
    return found["id"]


def trial_filter(value: str | None) -> str | None:
    """The trial code a `trial` filter names: HDMSC-RP-01 or trials/HDMSC-RP-01."""
    if value is None:
        return None
    found = _TRIAL_FILTER.match(value)
    if found is None:
        raise InvalidInput.at(
            ["query", "trial"],
            f"{value!r} is not a trial code: give it as HDMSC-RP-01 or trials/HDMSC-RP-01",
        )
    return found["id"]


def feed(
    session: Session,
    *,
    after: str | None,
    limit: int,
    types: Sequence[str],
    trial_id: str | None,
    subject_id: str | None,
    principal: Principal,
) -> EventPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.at(["query", "limit"], f"between 1 and {MAX_PAGE_SIZE}")
    (start,) = LOG_ORDER.read(after, parameter="after") or (0,)
    patterns = checked_patterns(types, field=["query", "type"])
    rows = repository.page_after(
        session,
        after=start,
        limit=limit + 1,
        patterns=patterns,
        trial_id=trial_filter(trial_id),
        subject_id=subject_filter(subject_id),
        principal=principal,
    )
    shown = rows[:limit]
    last = shown[-1].position if shown else start
    return EventPage(
        items=[as_feed_event(row) for row in shown],
        next_cursor=LOG_ORDER.write((last,)),
        has_more=len(rows) > limit,
    )


def one(session: Session, event_id: str) -> FeedEvent:
    event = repository.by_event_id(session, event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r} in the log")
    return as_feed_event(event)
