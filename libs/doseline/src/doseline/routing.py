"""The routing table: which consumer queue and actor receives each event type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from doseline.contracts import safety as safety_events
from doseline.contracts import system as system_events


@dataclass(frozen=True, slots=True)
class Route:
    """One delivery: the consuming service's queue and the actor there that handles it."""

    service: str
    actor: str

    @property
    def queue(self) -> str:
        return f"{self.service}.events"


def _to(service: str, handler: str) -> Route:
    return Route(service=service, actor=f"{service}__{handler}")


ROUTES: Mapping[str, tuple[Route, ...]] = {
    system_events.TracerPing.event_type: (
        _to("enrollment", "on_tracer"),
        _to("safety", "on_tracer"),
        _to("imaging", "on_tracer"),
    ),
    # Enrollment recomputes the escalation state from every DLT adjudication.
    safety_events.DltConfirmed.event_type: (_to("enrollment", "on_dlt_adjudicated"),),
    safety_events.DltRuledOut.event_type: (_to("enrollment", "on_dlt_adjudicated"),),
}


def routes_for(event_type: str) -> tuple[Route, ...]:
    return ROUTES.get(event_type, ())


def consumed_by(service: str) -> dict[str, Route]:
    """Event type → route for every event the service consumes."""
    return {
        event_type: route
        for event_type, routes in ROUTES.items()
        for route in routes
        if route.service == service
    }
