"""Events leave Doseline through notifications, end to end over the real broker.

Safety's own endpoints make the events (enrollment's subject and infusion events reach safety
through enrollment's outbox, as they would from the enrollment service); the notifications
worker logs them and posts them to a real HTTP receiver on a loopback port, allow-listed in
the settings, where `standardwebhooks` verifies each signature with the subscription's secret.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from doseline import outbox
from doseline.auth import Role
from doseline.broker import make_broker
from doseline.events import Envelope
from doseline.relay import OutboxRelay, message_for
from doseline.routing import EVENT_LOG_ROUTE
from doseline.testing.plugin import EventPump, TokenFactory
from notifications.event_log.models import LoggedEvent
from safety.manifest import SERVICE as SAFETY

TRIAL = "HDMSC-RP-01"
SUBJECT = "HDMSC-RP-01-007"
SITE_ZONE = "Asia/Shanghai"
PNEUMONITIS = "10035742"
WORKBOOK = "CTCAE_v5.0_2017-11-27.xlsx"
REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, *, timeout: float = 120.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"received {len(self.received)} of {count} deliveries")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            target = holder["receiver"]
            with target.lock:
                target.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield holder["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notifications worker started by `deliver_events` may call the loopback receiver."""
    monkeypatch.setenv("NOTIFICATIONS_ALLOWED_TARGET_NETWORKS", '["127.0.0.0/8"]')


@pytest.fixture
def treated_subject(
    enrol_and_infuse: Callable[[str, EventPump], date], deliver_events: EventPump
) -> date:
    """The CTCAE dictionary in safety, and a subject enrolled and infused 45 days ago."""
    return enrol_and_infuse(SUBJECT, deliver_events)


def _headers(auth: TokenFactory, role: Role, person: str, **extra: str) -> dict[str, str]:
    return {
        **auth(role, subject=person, auth_time=datetime.now(UTC)),
        "Idempotency-Key": str(uuid.uuid4()),
        **extra,
    }


def _subscribe(notifications: TestClient, auth: TokenFactory, url: str, pattern: str) -> str:
    created = notifications.post(
        "/v1/subscriptions",
        json={"url": url, "event_types": [pattern], "description": "cell pharmacy hold"},
        headers=_headers(auth, Role.ADMIN, "admin-kim"),
    )
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _ae(subject_id: str, onset: date, *, grade: int, attribution: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "term_code": PNEUMONITIS,
        "verbatim": "pneumonitis",
        "onset_date": onset.isoformat(),
        "grade": grade,
        "attribution": attribution,
        "action_taken": "dose_not_changed",
        "outcome": "not_recovered_not_resolved",
    }


def _baseline(safety: TestClient, auth: TokenFactory) -> None:
    current = safety.get(f"/v1/subjects/{SUBJECT}", headers=auth(Role.MONITOR))
    assert current.status_code == 200, current.text
    done = safety.put(
        f"/v1/subjects/{SUBJECT}/baseline",
        json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
        headers={**_headers(auth, Role.INVESTIGATOR, "dr-li"), "If-Match": current.headers["ETag"]},
    )
    assert done.status_code == 200, done.text


def test_a_dlt_confirmed_in_safety_reaches_a_real_receiver_signed_with_its_secret(
    loopback_allowed: None,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    treated_subject: date,
    deliver_events: EventPump,
    receiver: Receiver,
) -> None:
    safety, notifications = api("safety"), api("notifications")
    secret = _subscribe(notifications, auth, receiver.url, "safety.dlt.confirmed")
    _baseline(safety, auth)
    reported = safety.post(
        "/v1/adverse-events",
        json=_ae(SUBJECT, treated_subject + timedelta(days=11), grade=3, attribution="possible"),
        headers=_headers(auth, Role.INVESTIGATOR, "dr-li"),
    )
    assert reported.status_code == 201, reported.text
    [dlt] = safety.get(
        "/v1/dlts", params={"status": "suspected"}, headers=auth(Role.MONITOR)
    ).json()
    etag = safety.get(f"/v1/dlts/{dlt['id']}", headers=auth(Role.MONITOR)).headers["ETag"]
    confirmed = safety.post(
        f"/v1/dlts/{dlt['id']}/adjudication",
        json={"decision": "confirm"},
        headers=_headers(auth, Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
    )
    assert confirmed.status_code == 200, confirmed.text
    assert deliver_events() > 0

    [(headers, body)] = receiver.wait_for(1)
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "safety.dlt.confirmed"
    assert event["id"] == headers["webhook-id"]
    assert event["data"]["subject_id"] == SUBJECT
    assert event["data"]["grade"] == 3
    assert event["source"] == "urn:doseline:safety"

    # The same event is in the feed, for consumers that were down. (The log's order is its
    # append order; two events relayed together may be appended in either order, which is
    # why DLT events carry `adjudication_sequence`.)
    feed = notifications.get(
        "/v1/events", params={"type": "safety.dlt.*"}, headers=auth(Role.PHARMACIST)
    ).json()
    by_type = {e["type"]: e for e in feed["items"]}
    assert sorted(by_type) == ["safety.dlt.confirmed", "safety.dlt.suspected"]
    assert by_type["safety.dlt.confirmed"]["id"] == event["id"]


def _dead(broker_url: str) -> str:
    """The same kind of broker on a port where nothing listens: a broker that is down."""
    parts = urlsplit(broker_url)
    host = f"{parts.username}:{parts.password}@127.0.0.1:1" if parts.username else "127.0.0.1:1"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def test_a_burst_of_1000_adverse_events_during_a_broker_outage_reaches_log_and_subscriber_once(
    loopback_allowed: None,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    treated_subject: date,
    deliver_events: EventPump,
    receiver: Receiver,
    broker: dramatiq.Broker,
    broker_url: str,
    clean_db: Engine,
    sessions: Callable[[str], sessionmaker[Session]],
) -> None:
    safety, notifications = api("safety"), api("notifications")
    secret = _subscribe(notifications, auth, receiver.url, "safety.ae.*")
    down = OutboxRelay(engine=clean_db, schema=SAFETY.schema, broker=make_broker(_dead(broker_url)))

    onset = treated_subject + timedelta(days=40)  # after the DLT window: no DLT suspicion
    for _ in range(1000):
        response = safety.post(
            "/v1/adverse-events",
            json=_ae(SUBJECT, onset, grade=1, attribution="unrelated"),
            headers=_headers(auth, Role.INVESTIGATOR, "dr-li"),
        )
        assert response.status_code == 201, response.text
    # The relay keeps trying while the broker is down; every event waits in the outbox.
    assert down.publish_pending().failed
    with sessions("safety")() as session:
        assert outbox.pending_count(session) == 1000
    with sessions("notifications")() as session:
        logged = select(func.count()).where(LoggedEvent.event_type == "safety.ae.recorded")
        assert session.scalar(logged) == 0

    assert deliver_events() == 1000  # the broker is back
    received = receiver.wait_for(1000)
    ids = [headers["webhook-id"] for headers, _ in received]
    with sessions("safety")() as session:
        sent = [
            row.envelope
            for row in session.execute(
                select(SAFETY.schema.kit.outbox.c.envelope).order_by(SAFETY.schema.kit.outbox.c.id)
            )
        ]
    assert len(sent) == 1000
    assert sorted(ids) == sorted(e["id"] for e in sent)
    for headers, body in received[::97]:
        Webhook(secret).verify(body, headers)

    # A relay that crashed after publishing publishes again: the copies change nothing.
    for envelope in sent[:50]:
        broker.enqueue(message_for(Envelope.model_validate(envelope), EVENT_LOG_ROUTE))
    broker.join(EVENT_LOG_ROUTE.queue, timeout=60_000)
    time.sleep(0.5)
    assert len(receiver.received) == 1000

    # A consumer reading the feed from the start sees each event once, in log order.
    seen: list[str] = []
    sequences: list[str] = []
    cursor: str | None = None
    while True:
        page = notifications.get(
            "/v1/events",
            params={
                "type": "safety.ae.recorded",
                "limit": 333,
                **({"after": cursor} if cursor else {}),
            },
            headers=auth(Role.MONITOR),
        ).json()
        seen += [e["id"] for e in page["items"]]
        sequences += [e["sequence"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(e["id"] for e in sent)
    assert len(set(seen)) == 1000
    assert sequences == sorted(sequences)
