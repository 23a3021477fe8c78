"""What the launcher, the CLI and the tests need to know to run the notifications service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from doseline.consumers import Handler
from doseline.manifest import PeriodicJob, ServiceManifest
from doseline.routing import EVENT_LOG_ROUTE, consumed_by
from notifications import PORT
from notifications.app import SUMMARY, create_app
from notifications.db import schema
from notifications.event_log.tasks import record_event_handler
from notifications.problems import PROBLEMS
from notifications.publishing import publishing_for
from notifications.settings import NotificationsSettings


def handlers(settings: NotificationsSettings) -> Mapping[str, Handler]:
    """Every public event (the routing table derives them from the contracts) → the log."""
    record_event = record_event_handler(publishing_for(settings).after_append)
    return {
        event_type: record_event
        for event_type, route in consumed_by("notifications").items()
        if route == EVENT_LOG_ROUTE
    }


def periodic_jobs(settings: NotificationsSettings) -> Sequence[PeriodicJob]:
    return publishing_for(settings).jobs()


SERVICE = ServiceManifest(
    name="notifications",
    port=PORT,
    schema=schema,
    settings_class=NotificationsSettings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    handlers=handlers,
    periodic_jobs=periodic_jobs,
    problems=PROBLEMS,
    summary=SUMMARY,
)
