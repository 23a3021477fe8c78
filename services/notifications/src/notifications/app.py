"""The notifications HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from doseline.site_scope import site_scope_dependency
from notifications.db import schema
from notifications.deliveries import endpoints as deliveries
from notifications.event_log import endpoints as event_log
from notifications.problems import PROBLEMS
from notifications.scope import SCOPED_PARAMETERS
from notifications.settings import NotificationsSettings
from notifications.subscriptions import endpoints as subscriptions

SUMMARY = (
    "Every public event once, in order: a cursor feed, signed webhooks with retries and replay, "
    "and an AMQP topic exchange."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz`, `/readyz` and `/problems` needs an `Authorization: Bearer <token>`
header. Errors are RFC 9457 `application/problem+json`; each problem's `type`
(`/problems/{{slug}}`) resolves here to what it means and what to do (`GET /problems` lists them).
"""


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return build_app(
        settings or NotificationsSettings(),
        schema=schema,
        title="Doseline notifications",
        description=DESCRIPTION,
        routers=[diagnostics.router, event_log.router, subscriptions.router, deliveries.router],
        router_dependencies=[site_scope_dependency(SCOPED_PARAMETERS)],
        problem_catalogue=PROBLEMS,
    )
