"""The routing table: which consumer queue and actor receives each event type."""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass

from doseline import contracts
from doseline.contracts import enrollment as enrollment_events
from doseline.contracts import imaging as imaging_events
from doseline.contracts import protocol as protocol_events
from doseline.contracts import safety as safety_events
from doseline.contracts import system as system_events


@dataclass(frozen=True, slots=True)
class Route:
    """One delivery: the consuming service's queue and the actor there that handles it.

    `lane` names the queue within the service: `events` for the quick consumers, another lane for
    long work (a CT measured for minutes) that must not hold up the service's other events."""

    service: str
    actor: str
    lane: str = "events"

    @property
    def queue(self) -> str:
        return f"{queue_namespace()}{self.service}.{self.lane}"


QUEUE_NAMESPACE_VARIABLE = "DOSELINE_QUEUE_NAMESPACE"


def queue_namespace() -> str:
    """A prefix for every consumer queue (empty in production).

    Two test runs sharing one RabbitMQ would otherwise consume each other's events; the test
    plugin gives each run a namespace of its own.
    """
    return os.environ.get(QUEUE_NAMESPACE_VARIABLE, "")


def _to(service: str, handler: str, *, lane: str = "events") -> Route:
    return Route(service=service, actor=f"{service}__{handler}", lane=lane)


ROUTES: Mapping[str, tuple[Route, ...]] = {
    system_events.TracerPing.event_type: (
        _to("enrollment", "on_tracer"),
        _to("safety", "on_tracer"),
        _to("imaging", "on_tracer"),
    ),
    # Enrollment recomputes the escalation state from every DLT adjudication, and keeps a
    # subject with a suspected DLT pending (never replaced) until it is adjudicated.
    safety_events.DltSuspected.event_type: (_to("enrollment", "on_dlt_adjudicated"),),
    safety_events.DltConfirmed.event_type: (_to("enrollment", "on_dlt_adjudicated"),),
    safety_events.DltRuledOut.event_type: (_to("enrollment", "on_dlt_adjudicated"),),
    # Safety learns subjects, their hospital-id hashes and DLT windows from enrollment.
    enrollment_events.SubjectEnrolled.event_type: (
        _to("safety", "on_subject_enrolled"),
        _to("imaging", "on_subject_enrolled"),
    ),
    enrollment_events.InfusionAdministered.event_type: (
        _to("safety", "on_infusion_administered"),
        _to("imaging", "on_infusion_administered"),
    ),
    # Every trial rule other services apply comes from the protocol version in force.
    protocol_events.ProtocolActivated.event_type: (
        _to("safety", "on_protocol_activated"),
        _to("imaging", "on_protocol_activated"),
    ),
    # Imaging measures an uploaded CT in a worker of its own, one analysis per message, on a
    # queue of its own so that a backlog of CTs never delays the subjects' events.
    imaging_events.CtUploaded.event_type: (_to("imaging", "measure_ct", lane="ct"),),
}


# Every public event also goes to the notifications service's ordered event log, which feeds
# webhooks, the AMQP topic exchange and the cursor feed. Derived from the contract registry so
# that a new public contract is published without anyone remembering to route it.
EVENT_LOG_ROUTE = _to("notifications", "record_event")


def _with_event_log(routes: Mapping[str, tuple[Route, ...]]) -> dict[str, tuple[Route, ...]]:
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"{contracts.__name__}.{module.name}")
    combined = dict(routes)
    for (event_type, _version), contract in sorted(contracts.CONTRACTS.items()):
        if contract.public and EVENT_LOG_ROUTE not in combined.get(event_type, ()):
            combined[event_type] = (*combined.get(event_type, ()), EVENT_LOG_ROUTE)
    return combined


ROUTES = _with_event_log(ROUTES)


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
