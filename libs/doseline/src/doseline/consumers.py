"""Event consumers: actors that validate the envelope, claim it in the inbox, call the service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import structlog
from sqlalchemy.orm import Session, sessionmaker

from doseline import inbox
from doseline.events import Envelope
from doseline.logging import bind_correlation_id, clear_correlation_id
from doseline.routing import consumed_by

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class OwnTransactions:
    """A handler for slow work (minutes of file I/O and computation): it opens its own short
    transactions around the work instead of running inside the consumer's, so no transaction
    or lock stays open while it works. It claims its work itself, idempotently (a conditional
    update), which makes a duplicate delivery harmless without the inbox.

    `prepare` runs once in a worker process before it takes a message (`ConsumerSet.prepare`):
    work every message would otherwise pay on a fresh worker (importing libraries that take
    seconds), so the first messages after a start are not slower and its threads do not queue
    behind one another on the import lock."""

    run: Callable[[sessionmaker[Session], Envelope], None]
    prepare: Callable[[], None] | None = None


Handler = Callable[[Session, Envelope], None] | OwnTransactions

# A lost DLT notification is a safety problem, so failures are retried for days, not minutes.
MAX_RETRIES = 1_000
MAX_BACKOFF_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class ConsumerSet:
    """The actors bound to one broker for one service."""

    service: str
    actors: Mapping[str, dramatiq.Actor[..., None]]
    preparations: tuple[Callable[[], None], ...] = ()

    @property
    def queues(self) -> set[str]:
        return {actor.queue_name for actor in self.actors.values()}

    def prepare(self) -> None:
        """Run the handlers' `prepare` steps (OwnTransactions), before the first message."""
        for preparation in self.preparations:
            preparation()


def bind_consumers(
    broker: dramatiq.Broker,
    *,
    service: str,
    handlers: Mapping[str, Handler],
    sessions: sessionmaker[Session],
    partial: bool = False,
) -> ConsumerSet:
    """Declare one actor per route of the routing table that delivers to `service`.

    `handlers` maps event type → handler; every event the routing table sends to the service
    must have one, and every handler must be routed, or this raises at start-up. `partial`
    binds only the routes that have a handler (tests of a single consumer).
    """
    routes = consumed_by(service)
    unrouted = sorted(set(handlers) - set(routes))
    if partial:
        routes = {event_type: r for event_type, r in routes.items() if event_type in handlers}
    missing = sorted(set(routes) - set(handlers))
    if missing or unrouted:
        raise RuntimeError(
            f"{service}: routing table and handlers disagree "
            f"(routed without handler: {missing}; handler without route: {unrouted})"
        )
    by_actor: dict[str, dict[str, Handler]] = {}
    queues: dict[str, str] = {}
    for event_type, route in routes.items():
        by_actor.setdefault(route.actor, {})[event_type] = handlers[event_type]
        queues[route.actor] = route.queue
    actors = {
        name: dramatiq.Actor(
            _consume(name, table, sessions),
            broker=broker,
            actor_name=name,
            queue_name=queues[name],
            priority=0,
            options={"max_retries": MAX_RETRIES, "max_backoff": MAX_BACKOFF_MS},
        )
        for name, table in by_actor.items()
    }
    preparations = tuple(
        handler.prepare
        for table in by_actor.values()
        for handler in table.values()
        if isinstance(handler, OwnTransactions) and handler.prepare is not None
    )
    return ConsumerSet(service=service, actors=actors, preparations=preparations)


def _consume(
    consumer: str, handlers: Mapping[str, Handler], sessions: sessionmaker[Session]
) -> Callable[[dict[str, Any]], None]:
    def consume(payload: dict[str, Any]) -> None:
        envelope = Envelope.model_validate(payload)
        bind_correlation_id(envelope.correlationid)
        try:
            handler = handlers.get(envelope.type)
            if handler is None:
                log.error("event.unexpected_type", consumer=consumer, event_type=envelope.type)
                return
            if isinstance(handler, OwnTransactions):
                handler.run(sessions, envelope)
                log.info("event.handled", consumer=consumer, event_id=envelope.id)
                return
            with sessions() as session, session.begin():
                if not inbox.claim(session, envelope, consumer=consumer):
                    log.info("event.duplicate_dropped", consumer=consumer, event_id=envelope.id)
                    return
                handler(session, envelope)
            log.info("event.handled", consumer=consumer, event_id=envelope.id, type=envelope.type)
        finally:
            clear_correlation_id()

    consume.__name__ = consumer
    return consume
