"""A slow webhook receiver holds up its own deliveries only, never another subscription's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.testing.plugin import TokenFactory
from notifications.deliveries.service import Dispatcher
from notifications.settings import NotificationsSettings

from .conftest import FAST, append, deliveries, dlt_confirmed, subscribe

EVENTS = 12
# The slow receiver answers only when the test lets it (or after this many seconds).
SLOW_ANSWER_SECONDS = 25.0


class Endpoint:
    """A loopback HTTP receiver that can hold every request until `release()`."""

    def __init__(self, *, held: bool) -> None:
        self.gate = threading.Event()
        if not held:
            self.gate.set()
        self.lock = threading.Lock()
        self.arrived: list[str] = []  # webhook-ids, as requests come in
        self.answered: list[str] = []  # webhook-ids, as answers go out
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                webhook_id = self.headers["webhook-id"]
                with endpoint.lock:
                    endpoint.arrived.append(webhook_id)
                endpoint.gate.wait(SLOW_ANSWER_SECONDS)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with endpoint.lock:
                    endpoint.answered.append(webhook_id)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self.arrived), len(self.answered)

    def release(self) -> None:
        self.gate.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoints() -> Iterator[Callable[..., Endpoint]]:
    opened: list[Endpoint] = []

    def open_endpoint(*, held: bool) -> Endpoint:
        opened.append(Endpoint(held=held))
        return opened[-1]

    yield open_endpoint
    for endpoint in opened:
        endpoint.close()


@pytest.fixture
def patient_dispatcher(settings_for: Callable[..., Any]) -> Iterator[Dispatcher]:
    """Eight delivery threads (two per subscription) that wait long enough for a slow answer."""
    settings = settings_for(
        "notifications", **{**FAST, "delivery_threads": 8, "delivery_timeout_seconds": 40.0}
    )
    assert isinstance(settings, NotificationsSettings)
    assert settings.in_flight_per_subscription == 2
    running = Dispatcher(settings)
    yield running
    running.close()


def _wait(condition: Callable[[], bool], what: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"still waiting for {what}")


def test_a_receiver_that_hangs_does_not_delay_another_subscriptions_deliveries(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    endpoints: Callable[..., Endpoint],
    patient_dispatcher: Dispatcher,
) -> None:
    slow, fast = endpoints(held=True), endpoints(held=False)
    # The slow subscription comes first: its deliveries are the oldest of every event.
    held_back = subscribe(client, auth, slow.url, "safety.dlt.*")
    subscribe(client, auth, fast.url, "safety.dlt.*")
    events = [dlt_confirmed(number) for number in range(1, EVENTS + 1)]
    append(log_db, *events)

    sweep = threading.Thread(target=patient_dispatcher.drain_in_parallel, args=(log_db,))
    sweep.start()
    try:
        _wait(lambda: fast.counts() == (EVENTS, EVENTS), "the fast receiver's deliveries")
        # Every fast delivery is in while the slow receiver still holds its first two requests:
        # it occupies its two slots and no more; its other ten wait, undelivered, their turn.
        assert slow.counts() == (2, 0)
        assert sorted(slow.arrived) == sorted(e.id for e in events[:2])
        assert [d["status"] for d in deliveries(client, auth, held_back["id"])] == [
            "pending"
        ] * EVENTS
    finally:
        slow.release()
        sweep.join(timeout=60)
    assert not sweep.is_alive()

    patient_dispatcher.drain(log_db)
    assert sorted(slow.answered) == sorted(e.id for e in events)
    assert sorted(fast.answered) == sorted(e.id for e in events)
    # In the order of the log, two at a time: a request at most one place from its event's.
    in_log_order = [e.id for e in events]
    assert all(abs(in_log_order.index(got) - i) <= 1 for i, got in enumerate(slow.arrived))
    assert {d["status"] for d in deliveries(client, auth, held_back["id"])} == {"delivered"}
