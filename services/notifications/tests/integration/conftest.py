"""A notifications desk for integration tests: the API, a real HTTP receiver, the dispatcher."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.contracts.safety import DltConfirmed
from doseline.events import Envelope
from doseline.testing.plugin import TokenFactory
from notifications.deliveries.service import Dispatcher
from notifications.event_log import service as event_log
from notifications.settings import NotificationsSettings

# Retries in milliseconds instead of hours, so a test sees a whole schedule run out.
FAST: dict[str, Any] = {
    "allowed_target_networks": ["127.0.0.0/8"],
    "retry_schedule_seconds": (0.01, 0.02, 0.03),
    "retry_jitter": 0.0,
    "delivery_timeout_seconds": 2.0,
}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP endpoint that answers with the queued statuses, then with `then`."""

    url: str
    answers: list[int] = field(default_factory=list)
    then: int = 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.then

    def wait_for(self, count: int, *, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.005)
        raise AssertionError(f"received {len(self.received)} of {count} deliveries")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            target = holder["receiver"]
            status = target.answer()
            with target.lock:
                target.received.append(
                    Received(
                        {k.lower(): v for k, v in self.headers.items()}, body, time.perf_counter()
                    )
                )
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/dlt")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_settings(settings_for: Callable[..., Any]) -> NotificationsSettings:
    settings = settings_for("notifications", **FAST)
    assert isinstance(settings, NotificationsSettings)
    return settings


@pytest.fixture
def client(api: Callable[..., TestClient]) -> TestClient:
    return api("notifications", **FAST)


@pytest.fixture
def log_db(sessions: Callable[[str], sessionmaker[Session]]) -> sessionmaker[Session]:
    return sessions("notifications")


@pytest.fixture
def dispatcher(fast_settings: NotificationsSettings) -> Iterator[Dispatcher]:
    running = Dispatcher(fast_settings)
    yield running
    running.close()


def admin(auth: TokenFactory) -> dict[str, str]:
    return {**auth(Role.ADMIN, subject="admin-kim"), "Idempotency-Key": str(uuid.uuid4())}


def dlt_confirmed(number: int, *, subject_id: str = "HDMSC-RP-01-004") -> Envelope:
    return DltConfirmed(
        trial_id="HDMSC-RP-01",
        subject_id=subject_id,
        site_id="WCH",
        dlt_id=f"dlt-{number}",
        ae_id=f"ae-{number}",
        ae_version=1,
        term_code="10035742",
        term="Pneumonitis",
        grade=3,
        baseline_grade=1,
        attribution="possible",
        study_day=12,
        rules=["DLT-03"],
        adjudication_sequence=2,
        adjudicated_at=datetime.now(UTC),
        signature_hash="ab" * 32,
    ).envelope(
        source="urn:doseline:safety",
        subject=f"subjects/{subject_id}",
        correlation_id=uuid.uuid4().hex,
    )


def append(log_db: sessionmaker[Session], *envelopes: Envelope) -> list[int | None]:
    positions = []
    with log_db() as session, session.begin():
        for envelope in envelopes:
            positions.append(event_log.append(session, envelope))
    return positions


def subscribe(client: TestClient, auth: TokenFactory, url: str, *patterns: str) -> dict[str, Any]:
    response = client.post(
        "/v1/subscriptions",
        json={"url": url, "event_types": list(patterns) or ["safety.dlt.*"]},
        headers=admin(auth),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def deliveries(client: TestClient, auth: TokenFactory, subscription_id: str) -> list[Any]:
    """A subscription's deliveries as a monitor reads them."""
    response = client.get(
        f"/v1/subscriptions/{subscription_id}/deliveries", headers=auth(Role.MONITOR)
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def drain_until_settled(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], *, rounds: int = 400
) -> None:
    """Run the dispatcher until no delivery is pending any more (retries are milliseconds)."""
    from sqlalchemy import text

    for _ in range(rounds):
        dispatcher.drain(sessions)
        with sessions() as session:
            pending = session.scalar(
                text(
                    "SELECT count(*) FROM notifications.deliveries d "
                    "JOIN notifications.subscriptions s ON s.id = d.subscription_id "
                    "WHERE d.status = 'pending' AND s.active"
                )
            )
        if not pending:
            return
        time.sleep(0.01)
    raise AssertionError("deliveries still pending")
