"""Publishes the event log, in order, to the AMQP topic exchange `doseline.events`.

The routing key is the event type, so a subscriber binds `safety.dlt.*` or `safety.#`.
Messages are persistent and confirmed by the broker (publisher confirms) before the cursor
moves; a failure leaves the cursor where it was, and the next pass publishes again (at least
once: an AMQP subscriber dedupes on the message id, which is the event id).
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import pika
import pika.exceptions
import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from doseline.broker import RABBITMQ_SCHEMES
from notifications.event_log import repository as event_log
from notifications.event_log.cloudevent import CLOUDEVENTS_JSON, body_bytes, cloudevent
from notifications.event_log.models import TopicCursor
from notifications.settings import NotificationsSettings

log = structlog.get_logger(__name__)

BATCH = 500


def publishes_to_topic(broker_url: str) -> bool:
    return urlparse(broker_url).scheme in RABBITMQ_SCHEMES


class TopicPublisher:
    """One confirmed channel to RabbitMQ, used by one thread at a time."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._url = settings.broker_url
        self._exchange = settings.topic_exchange
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return publishes_to_topic(self._url)

    def _open(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(pika.URLParameters(self._url))
        channel = self._connection.channel()
        channel.exchange_declare(exchange=self._exchange, exchange_type="topic", durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except pika.exceptions.AMQPError:
                log.warning("topic.close_failed")

    def publish_pending(self, sessions: sessionmaker[Session]) -> int:
        """Publish every logged event past the cursor; returns how many were published."""
        if not self.enabled:
            return 0
        total = 0
        with self._lock:
            while True:
                published = self._publish_batch(sessions)
                total += published
                if published < BATCH:
                    return total

    def _publish_batch(self, sessions: sessionmaker[Session]) -> int:
        with sessions() as session, session.begin():
            cursor = self._locked_cursor(session)
            events = event_log.after_position(session, after=cursor.position, limit=BATCH)
            if not events:
                return 0
            published = 0
            try:
                channel = self._open()
                for event in events:
                    channel.basic_publish(
                        exchange=self._exchange,
                        routing_key=event.event_type,
                        body=body_bytes(cloudevent(event.envelope, position=event.position)),
                        properties=pika.BasicProperties(
                            content_type=CLOUDEVENTS_JSON,
                            delivery_mode=pika.DeliveryMode.Persistent,
                            message_id=event.event_id,
                            type=event.event_type,
                            timestamp=int(event.occurred_at.timestamp()),
                            headers={"ce-sequence": str(event.position)},
                        ),
                        mandatory=False,
                    )
                    cursor.position = event.position
                    published += 1
            except (pika.exceptions.AMQPError, OSError) as error:
                log.warning("topic.publish_failed", error=repr(error), published=published)
                self.close()
            return published

    def _locked_cursor(self, session: Session) -> TopicCursor:
        session.execute(
            insert(TopicCursor)
            .values(exchange=self._exchange, position=0)
            .on_conflict_do_nothing(index_elements=[TopicCursor.exchange])
        )
        cursor = session.scalars(
            select(TopicCursor).where(TopicCursor.exchange == self._exchange).with_for_update()
        ).one()
        return cursor

    def publish_logged(self, sessions: sessionmaker[Session]) -> None:
        try:
            self.publish_pending(sessions)
        except Exception:
            # The periodic pass publishes whatever this one could not.
            log.exception("topic.publish_pass_failed")
