"""Latency from safety's API response (a DLT confirmed) to a subscriber's receipt of the webhook,
with the floor of that path measured beside it in the same run.

Real parts, in one process: the safety API served by uvicorn on a socket, the safety outbox relay
(LISTEN/NOTIFY), the broker (RabbitMQ with BENCH_BROKER_URL=amqp://…, else an embedded Valkey),
the notifications consumer and its webhook dispatcher, and an HTTP receiver on a loopback port
that verifies every signature with the subscription's secret. For each DLT (BENCH_EVENTS, default
1,000): report a grade 3 pneumonitis (a suspected DLT), confirm it as the safety physician, take
the time when the confirmation's response arrives and the time when the receiver gets the
`safety.dlt.confirmed` webhook; one DLT at a time, so the figure is the path's latency, not a
queue's.

The floor is the same four steps with nothing else in them: one commit of a one-row transaction
that NOTIFYs, one listener woken by it, one message through the same broker to a dramatiq actor,
one HTTP POST to the same receiver. The distance between the two is what Doseline adds.

Usage: uv run --frozen python bench/notifications_latency.py
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import dramatiq
import httpx
import psycopg
from _stack import (
    SITE_ZONE,
    bearer,
    broker_url,
    headers,
    ok,
    prepare_safety,
    record_baseline,
    scratch_database,
    served,
)
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from doseline.audit import AuditKeys
from doseline.auth import Role
from doseline.broker import make_broker
from doseline.db import libpq_url, make_engine
from doseline.relay import OutboxRelay
from doseline.runtime import start_consumers
from doseline.settings import Environment
from notifications.manifest import SERVICE as NOTIFICATIONS
from notifications.publishing import publishing_for
from notifications.settings import NotificationsSettings
from safety.manifest import SERVICE as SAFETY
from safety.settings import SafetySettings

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
SUBJECT = "HDMSC-RP-01-001"
PNEUMONITIS = "10035742"
FLOOR_CHANNEL = "bench_floor"


class Receipts:
    """An HTTP receiver that notes when each webhook-id first arrived."""

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

    def wait_for(self, webhook_id: str, timeout: float = 30.0) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: webhook_id in self.at, timeout=timeout):
                raise RuntimeError(f"webhook {webhook_id} did not arrive in {timeout} s")
            return self.at[webhook_id]

    def wait_count(self, count: int, timeout: float = 30.0) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.at) >= count, timeout=timeout):
                raise RuntimeError(f"only {len(self.at)} of {count} webhooks arrived")


def measure_path(port: int, database_url: str, secret: str, receipts: Receipts) -> list[float]:
    """Report and confirm one DLT at a time; milliseconds from response to receipt."""
    engine = make_engine(database_url, pool_size=1, application_name="bench-lookup")
    seen: set[str] = set()
    latencies: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as safety:
        record_baseline(safety, SUBJECT)
        monitor = {"Authorization": bearer(Role.MONITOR, "m")}
        onset = (datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=9)).isoformat()
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
            with engine.connect() as connection:
                dlt_id = connection.execute(
                    text("SELECT id FROM safety.dlt_cases WHERE ae_id = :ae"), {"ae": ae["id"]}
                ).scalar_one()
            etag = safety.get(f"/v1/dlts/{dlt_id}", headers=monitor).headers["ETag"]
            confirmed = safety.post(
                f"/v1/dlts/{dlt_id}/adjudication",
                json={"decision": "confirm"},
                headers=headers(Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
            )
            answered = time.perf_counter()
            ok(confirmed)
            receipts.wait_count(len(seen) + 1)
            with receipts.arrived:
                [(event_id, arrived)] = [
                    (key, at) for key, at in receipts.at.items() if key not in seen
                ]
            seen.add(event_id)
            event_headers, body = receipts.bodies[event_id]
            Webhook(secret).verify(body, event_headers)
            latencies.append((arrived - answered) * 1000)
    engine.dispose()
    return latencies


def measure_floor(
    database_url: str, broker: dramatiq.Broker, hook_url: str, receipts: Receipts
) -> list[float]:
    """Commit + NOTIFY → listener → broker → actor → HTTP POST, one at a time, in milliseconds."""
    client = httpx.Client(timeout=10)

    @dramatiq.actor(queue_name="bench_floor", broker=broker, max_retries=0)
    def post(webhook_id: str) -> None:
        client.post(hook_url, content=b"{}", headers={"webhook-id": webhook_id}).raise_for_status()

    worker = dramatiq.Worker(broker, queues={"bench_floor"}, worker_threads=1)
    worker.start()
    stop = threading.Event()
    conninfo = libpq_url(database_url)

    def listen() -> None:
        with psycopg.connect(conninfo, autocommit=True) as listener:
            listener.execute(f"LISTEN {FLOOR_CHANNEL}")
            listening.set()
            while not stop.is_set():
                for notice in listener.notifies(timeout=0.5):
                    post.send(notice.payload)

    listening = threading.Event()
    threading.Thread(target=listen, daemon=True).start()
    listening.wait(10)
    latencies: list[float] = []
    with psycopg.connect(conninfo) as writer:
        writer.execute("CREATE TEMPORARY TABLE floor_rows (id text PRIMARY KEY)")
        writer.commit()
        for _ in range(EVENTS):
            webhook_id = f"floor_{uuid.uuid4().hex}"
            writer.execute("INSERT INTO floor_rows VALUES (%s)", (webhook_id,))
            writer.execute("SELECT pg_notify(%s, %s)", (FLOOR_CHANNEL, webhook_id))
            writer.commit()
            committed = time.perf_counter()
            latencies.append((receipts.wait_for(webhook_id) - committed) * 1000)
    stop.set()
    worker.stop()
    client.close()
    return latencies


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"p50 {statistics.median(ordered):.1f}, "
        f"p95 {ordered[int(0.95 * len(ordered)) - 1]:.1f}, "
        f"p99 {ordered[int(0.99 * len(ordered)) - 1]:.1f}, "
        f"max {ordered[-1]:.1f}, mean {statistics.fmean(ordered):.1f}"
    )


def main() -> None:
    with scratch_database("notifications_bench") as database_url, broker_url() as broker_address:
        common: dict[str, Any] = {
            "database_url": database_url,
            "broker_url": broker_address,
            "environment": Environment.TEST,
            "log_level": "WARNING",
        }
        notifications_settings = NotificationsSettings(
            **common, allowed_target_networks=["127.0.0.0/8"]
        )
        prepare_safety(database_url, SUBJECT)

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

        receipts = Receipts()
        server, hook_url = receipts.serve()
        from fastapi.testclient import TestClient  # noqa: PLC0415

        with TestClient(NOTIFICATIONS.create_app(notifications_settings)) as notifications:
            created = notifications.post(
                "/v1/subscriptions",
                json={"url": hook_url, "event_types": ["safety.dlt.confirmed"]},
                headers=headers(Role.ADMIN, "admin"),
            )
            secret = ok(created, 201)["secret"]

        with served(SAFETY.create_app(SafetySettings(**common))) as port:
            latencies = measure_path(port, database_url, secret, receipts)
        floor = measure_floor(database_url, broker, hook_url, receipts)

        relay.stop()
        worker.stop()
        server.shutdown()
        publishing_for(notifications_settings).dispatcher.close()
        broker.close()
        engine.dispose()

    kind = broker_address.split(":", 1)[0]
    print(f"broker: {kind}; {len(latencies)} DLT confirmations, signatures verified")
    print(f"DLT confirmed → signed webhook received, ms: {_summary(latencies)}")
    print(f"floor (commit → NOTIFY → broker → actor → POST), ms: {_summary(floor)}")


if __name__ == "__main__":
    main()
