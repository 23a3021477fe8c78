"""Webhook deliveries to a real HTTP receiver: signed, retried, logged, replayed, disabled."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from doseline.auth import Role
from doseline.testing.plugin import EventPump, TokenFactory
from notifications.deliveries.service import Dispatcher
from notifications.settings import NotificationsSettings

from .conftest import (
    FAST,
    Receiver,
    append,
    deliveries,
    dlt_confirmed,
    drain_until_settled,
    subscribe,
)


def _detail(
    client: TestClient, auth: TokenFactory, subscription_id: str, delivery_id: str
) -> dict[str, Any]:
    response = client.get(
        f"/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}",
        headers=auth(Role.MONITOR),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _state(client: TestClient, auth: TokenFactory, subscription_id: str) -> dict[str, Any]:
    """The subscription as an administrator reads it (active, consecutive failures, …)."""
    response = client.get(f"/v1/subscriptions/{subscription_id}", headers=auth(Role.ADMIN))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_dlt_reaches_the_receiver_as_a_signed_cloudevent(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url, "safety.dlt.*")
    envelope = dlt_confirmed(1)
    append(log_db, envelope)
    assert dispatcher.drain(log_db) == 1

    [got] = receiver.received
    assert got.headers["webhook-id"] == envelope.id
    assert got.headers["content-type"] == "application/cloudevents+json"
    event = Webhook(subscription["secret"]).verify(got.body, got.headers)
    assert event["specversion"] == "1.0"
    assert event["id"] == envelope.id
    assert event["source"] == "urn:doseline:safety"
    assert event["type"] == "safety.dlt.confirmed"
    assert event["data"]["grade"] == 3

    [delivery] = deliveries(client, auth, subscription["id"])
    assert delivery["status"] == "delivered"
    [attempt] = _detail(client, auth, subscription["id"], delivery["id"])["attempt_log"]
    assert attempt["status_code"] == 200
    assert attempt["outcome"] == "delivered"
    assert attempt["latency_ms"] > 0
    assert attempt["response_excerpt"] == "ok"


def test_events_a_subscription_does_not_ask_for_are_not_sent(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscribe(client, auth, receiver.url, "safety.sae.#", "enrollment.#")
    append(log_db, dlt_confirmed(1))
    assert dispatcher.drain(log_db) == 0
    assert receiver.received == []


def test_a_receiver_that_fails_its_first_attempts_gets_the_event_later_under_the_same_id(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    receiver.answers = [500, 503, 429]
    envelope = dlt_confirmed(1)
    append(log_db, envelope)
    drain_until_settled(dispatcher, log_db)

    assert len(receiver.received) == 4
    assert {r.headers["webhook-id"] for r in receiver.received} == {envelope.id}
    for got in receiver.received:
        Webhook(subscription["secret"]).verify(got.body, got.headers)
    [delivery] = deliveries(client, auth, subscription["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 4
    attempts = _detail(client, auth, subscription["id"], delivery["id"])["attempt_log"]
    assert [a["status_code"] for a in attempts] == [500, 503, 429, 200]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "retry", "delivered"]
    assert _state(client, auth, subscription["id"])["consecutive_failures"] == 0


def test_a_receiver_that_never_recovers_is_disabled_and_an_event_says_so(
    deliver_events: EventPump,
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    receiver.then = 502
    envelope = dlt_confirmed(1)
    append(log_db, envelope)
    drain_until_settled(dispatcher, log_db)

    attempts = 1 + len(FAST["retry_schedule_seconds"])
    assert len(receiver.received) == attempts
    state = _state(client, auth, subscription["id"])
    assert state["active"] is False
    assert envelope.id in state["disabled_reason"]
    [delivery] = deliveries(client, auth, subscription["id"])
    assert delivery["status"] == "failed"
    outcomes = [
        a["outcome"]
        for a in _detail(client, auth, subscription["id"], delivery["id"])["attempt_log"]
    ]
    assert outcomes == ["retry"] * (attempts - 1) + ["exhausted"]

    with log_db() as session:
        [announced] = session.execute(
            text("SELECT envelope FROM notifications.outbox WHERE event_type = :t"),
            {"t": "notifications.subscription.disabled"},
        ).scalars()
    assert announced["data"]["subscription_id"] == subscription["id"]
    assert announced["data"]["reason"] == "retries_exhausted"
    assert announced["data"]["event_id"] == envelope.id
    assert announced["data"]["target_host"] == "127.0.0.1"
    # Relayed like any public event, the announcement lands in the log and the feed.
    assert deliver_events() == 1
    feed = client.get(
        "/v1/events", params={"type": "notifications.#"}, headers=auth(Role.MONITOR)
    ).json()
    assert [e["id"] for e in feed["items"]] == [announced["id"]]

    # Later events wait while it is disabled; re-enabling sends them.
    append(log_db, later := dlt_confirmed(2))
    dispatcher.drain(log_db)
    assert len(receiver.received) == attempts
    receiver.then = 200
    resumed = client.patch(
        f"/v1/subscriptions/{subscription['id']}",
        json={"active": True},
        headers={**auth(Role.ADMIN), "If-Match": f'"v{state["version"]}"'},
    )
    assert resumed.status_code == 200, resumed.text
    drain_until_settled(dispatcher, log_db)
    assert receiver.received[-1].headers["webhook-id"] == later.id


def test_an_endpoint_answering_410_gone_is_disabled_at_once(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    receiver.then = 410
    append(log_db, dlt_confirmed(1), dlt_confirmed(2))
    drain_until_settled(dispatcher, log_db)
    assert len(receiver.received) == 1
    state = _state(client, auth, subscription["id"])
    assert state["active"] is False
    assert "410" in state["disabled_reason"]


def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    rotated = client.post(
        f"/v1/subscriptions/{subscription['id']}/secret/rotate", headers=auth(Role.ADMIN)
    ).json()
    append(log_db, dlt_confirmed(1))
    dispatcher.drain(log_db)
    [got] = receiver.received
    Webhook(subscription["secret"]).verify(got.body, got.headers)
    Webhook(rotated["secret"]).verify(got.body, got.headers)


def test_replaying_an_event_sends_it_again_under_the_same_id(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    first, second = dlt_confirmed(1), dlt_confirmed(2)
    append(log_db, first, second)
    dispatcher.drain(log_db)
    assert len(receiver.received) == 2

    one = client.post(
        f"/v1/subscriptions/{subscription['id']}/replays",
        json={"event_id": first.id},
        headers=auth(Role.ADMIN),
    )
    assert one.status_code == 202, one.text
    assert one.json()["scheduled"] == 1
    dispatcher.drain(log_db)
    assert receiver.received[-1].headers["webhook-id"] == first.id

    window = client.post(
        f"/v1/subscriptions/{subscription['id']}/replays",
        json={
            "from_time": (first.time - timedelta(seconds=1)).isoformat(),
            "to_time": (second.time + timedelta(seconds=1)).isoformat(),
        },
        headers=auth(Role.ADMIN),
    )
    assert window.status_code == 202, window.text
    assert window.json()["event_ids"] == [first.id, second.id]
    dispatcher.drain(log_db)
    assert [r.headers["webhook-id"] for r in receiver.received[-2:]] == [first.id, second.id]
    [delivery, _] = deliveries(client, auth, subscription["id"])
    assert delivery["replays"] == 2


def test_a_target_that_now_resolves_to_an_internal_address_is_refused_at_delivery(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    settings_for: Callable[..., Any],
) -> None:
    subscription = subscribe(client, auth, receiver.url)
    append(log_db, dlt_confirmed(1))
    # Retries a minute apart: one drain makes exactly one attempt, however slow the machine.
    strict = settings_for(
        "notifications",
        **{**FAST, "allowed_target_networks": [], "retry_schedule_seconds": (60.0, 120.0)},
    )
    assert isinstance(strict, NotificationsSettings)
    refusing = Dispatcher(strict)
    try:
        refusing.drain(log_db)
    finally:
        refusing.close()
    assert receiver.received == []
    [delivery] = deliveries(client, auth, subscription["id"])
    assert delivery["status"] == "pending"
    assert "target refused" in delivery["last_error"]


def test_the_body_is_compact_json_with_the_log_position_as_sequence(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    subscribe(client, auth, receiver.url)
    [position] = append(log_db, dlt_confirmed(1))
    dispatcher.drain(log_db)
    body = json.loads(receiver.received[0].body)
    assert int(body["sequence"]) == position
    assert b" " not in receiver.received[0].body.split(b'"data"')[0]


def test_the_periodic_sweep_delivers_what_no_commit_hook_started(
    client: TestClient,
    auth: TokenFactory,
    log_db: sessionmaker[Session],
    receiver: Receiver,
    fast_settings: NotificationsSettings,
) -> None:
    """After a crash between commit and first attempt, the one-second sweep sends the event."""
    from datetime import UTC, datetime

    from notifications.publishing import Publishing

    subscription = subscribe(client, auth, receiver.url)
    envelope = dlt_confirmed(1)
    append(log_db, envelope)  # appended without the consumer's after-commit kick
    publishing = Publishing(fast_settings)
    try:
        [deliver, publish] = publishing.jobs()
        assert deliver.name == "deliver-webhooks"
        deliver.run(log_db, datetime.now(UTC))
        publish.run(log_db, datetime.now(UTC))  # no-op unless the broker is RabbitMQ
    finally:
        publishing.dispatcher.close()
    [got] = receiver.received
    assert got.headers["webhook-id"] == envelope.id
    Webhook(subscription["secret"]).verify(got.body, got.headers)
