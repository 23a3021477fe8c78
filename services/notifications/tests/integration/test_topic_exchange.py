"""With RabbitMQ, every logged event is published to a topic exchange keyed by its type."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from sqlalchemy.orm import Session, sessionmaker

from doseline.contracts.safety import SaeReported
from notifications.settings import NotificationsSettings
from notifications.topic.publisher import TopicPublisher, publishes_to_topic

from .conftest import append, dlt_confirmed


@pytest.fixture
def amqp_url(broker_url: str) -> str:
    if not publishes_to_topic(broker_url):
        pytest.skip(
            "the topic exchange exists only with RabbitMQ; set TEST_BROKER_URL=amqp://... "
            f"to run this test (the broker here is {broker_url.split(':', 1)[0]})"
        )
    return broker_url


@pytest.fixture
def exchange(amqp_url: str) -> Iterator[str]:
    name = f"doseline.events.test-{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    connection.channel().exchange_delete(name)
    connection.close()


def _bound_queue(url: str, exchange: str, binding: str) -> tuple[Any, str]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=queue, exchange=exchange, routing_key=binding)
    return channel, queue


def _drain(channel: Any, queue: str) -> list[tuple[Any, bytes]]:
    got: list[tuple[Any, bytes]] = []
    while True:
        method, properties, body = channel.basic_get(queue=queue, auto_ack=True)
        if method is None:
            return got
        got.append((properties, body))


def test_a_queue_bound_to_safety_dlt_star_receives_dlts_and_nothing_else(
    amqp_url: str,
    exchange: str,
    settings_for: Callable[..., Any],
    log_db: sessionmaker[Session],
) -> None:
    settings = settings_for("notifications", topic_exchange=exchange)
    assert isinstance(settings, NotificationsSettings)
    channel, queue = _bound_queue(amqp_url, exchange, "safety.dlt.*")
    dlt = dlt_confirmed(1)
    sae = SaeReported(
        trial_id="HDMSC-RP-01",
        subject_id="HDMSC-RP-01-004",
        site_id="WCH",
        ae_id="ae-1",
        criteria=["hospitalisation"],
        aware_at=dlt.time,
        due_at=dlt.time,
    ).envelope(source="urn:doseline:safety", subject=None, correlation_id="c1")
    append(log_db, dlt, sae)

    publisher = TopicPublisher(settings)
    try:
        assert publisher.publish_pending(log_db) == 2
        assert publisher.publish_pending(log_db) == 0  # the cursor moved: nothing twice
    finally:
        publisher.close()

    [(properties, body)] = _drain(channel, queue)
    event = json.loads(body)
    assert event["id"] == dlt.id == properties.message_id
    assert event["type"] == "safety.dlt.confirmed"
    assert properties.content_type == "application/cloudevents+json"
    assert properties.delivery_mode == 2
    channel.connection.close()
