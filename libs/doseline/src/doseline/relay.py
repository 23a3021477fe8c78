"""The outbox relay: publishes committed outbox rows to the broker, woken by LISTEN/NOTIFY."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import dramatiq
import psycopg
import structlog
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from doseline.db import libpq_url
from doseline.events import Envelope
from doseline.routing import Route, routes_for
from doseline.schema import ServiceSchema

log = structlog.get_logger(__name__)


FIRST_RETRY_SECONDS: Final = 0.25
MAX_RETRY_SECONDS: Final = 1.0


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failed passes in a row: 0.25, 0.5, then every second.

    A failed pass costs one refused connection, so retrying every second is cheap; waiting
    longer would only delay every event once the broker is back."""
    return float(min(FIRST_RETRY_SECONDS * 2 ** max(failures - 1, 0), MAX_RETRY_SECONDS))


@dataclass(frozen=True, slots=True)
class RelayPass:
    published: int
    failed: bool


def message_for(envelope: Envelope, route: Route) -> dramatiq.Message[None]:
    """The dramatiq message that delivers `envelope` to one consuming actor."""
    return dramatiq.Message(
        queue_name=route.queue,
        actor_name=route.actor,
        args=(envelope.model_dump(mode="json"),),
        kwargs={},
        options={},
    )


class OutboxRelay:
    """Moves a service's outbox rows to the broker, at least once, oldest first.

    Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays can run side by side; a
    row is marked published only after the broker accepted every delivery (RabbitMQ publisher
    confirms). A broker failure leaves the row unpublished for the next pass: nothing is lost.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        schema: ServiceSchema,
        broker: dramatiq.Broker,
        batch_size: int = 100,
        poll_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._schema = schema
        self._sessions: sessionmaker[Session] = schema.session_factory(engine)
        self._broker = broker
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()

    def publish_pending(self) -> RelayPass:
        """One pass over the unpublished rows; returns how many were published."""
        outbox = self._schema.kit.outbox
        published = 0
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(outbox.c.id, outbox.c.event_id, outbox.c.envelope)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                envelope = Envelope.model_validate(row.envelope)
                try:
                    for route in routes_for(envelope.type):
                        self._broker.enqueue(message_for(envelope, route))
                except Exception as error:
                    session.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id)
                        .values(attempts=outbox.c.attempts + 1, last_error=repr(error)[:2000])
                    )
                    log.warning("outbox.publish_failed", event_id=row.event_id, error=repr(error))
                    return RelayPass(published=published, failed=True)
                session.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
                )
                published += 1
        if published:
            log.info("outbox.published", count=published)
        return RelayPass(published=published, failed=False)

    def drain(self) -> int:
        """Publish until nothing is pending (or the broker fails); for tests and shutdown."""
        total = 0
        while True:
            result = self.publish_pending()
            total += result.published
            if result.failed or result.published == 0:
                return total

    def stop(self) -> None:
        """Ask `run_forever` to return; a NOTIFY on its channel wakes it at once."""
        self._stop.set()
        try:
            with self._engine.connect() as connection:
                connection.execute(
                    text("SELECT pg_notify(:channel, 'stop')"),
                    {"channel": self._schema.notify_channel},
                )
                connection.commit()
        except Exception as error:
            # No database: the listener's poll timeout ends the wait instead.
            log.info("relay.stop_notify_failed", error=repr(error))

    def run_forever(self) -> None:
        """Publish whenever NOTIFY says a row was committed, and every `poll_seconds` regardless.

        After a failure the relay retries soon and keeps retrying at least every
        `MAX_RETRY_SECONDS`, so rows go out within about a second of the broker's or the
        database's return, not after a long exponential wait."""
        backoff = retry_delay(0)
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    libpq_url(self._engine.url.render_as_string(hide_password=False)),
                    autocommit=True,
                ) as listener:
                    listener.execute(f'LISTEN "{self._schema.notify_channel}"')
                    log.info("relay.listening", channel=self._schema.notify_channel)
                    while not self._stop.is_set():
                        result = self.publish_pending()
                        if result.failed:
                            self._stop.wait(backoff)
                            failures += 1
                            backoff = retry_delay(failures)
                            continue
                        failures = 0
                        backoff = retry_delay(0)
                        if result.published == self._batch_size:
                            continue  # more rows waiting; do not sleep
                        for _ in listener.notifies(timeout=self._poll_seconds, stop_after=1):
                            pass
            except (psycopg.OperationalError, DBAPIError, OSError) as error:
                log.warning("relay.database_unavailable", error=repr(error))
                self._stop.wait(backoff)
                failures += 1
                backoff = retry_delay(failures)
            except Exception:
                # Whatever went wrong, the relay must outlive it: rows stay unpublished, not lost.
                log.exception("relay.unexpected_error")
                self._stop.wait(backoff)
                failures += 1
                backoff = retry_delay(failures)
