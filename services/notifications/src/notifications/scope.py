"""Site scope of the notifications API: events of a subject's site, subscriptions of sites."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline.errors import NotFound
from doseline.site_scope import ScopedParameter
from notifications.event_log.models import LoggedEvent
from notifications.subscriptions import repository as subscriptions


def _site_of_event(session: Session, event_id: str) -> str | None:
    return session.scalars(
        select(LoggedEvent.site_id).where(LoggedEvent.event_id == event_id)
    ).first()


# An event about a subject belongs to its site; a subscription to every site it serves.
SCOPED_PARAMETERS: Mapping[str, ScopedParameter] = {
    "event_id": ScopedParameter(
        _site_of_event, lambda value: NotFound(f"no event {value!r} in the log")
    ),
    "subscription_id": ScopedParameter(
        subscriptions.sites_of, lambda value: NotFound(f"no subscription {value}")
    ),
}
