"""Managing webhook subscriptions: secrets shown once, ETags, SSRF refusals, audit, bad input."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit
from doseline.auth import Role
from doseline.testing.plugin import TokenFactory

from .conftest import admin, subscribe

URL = "http://127.0.0.1:9/hooks/dlt"


def test_the_secret_is_shown_when_the_subscription_is_created_and_never_again(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    created = subscribe(client, auth, URL, "safety.dlt.*", "safety.sae.#")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["safety.dlt.*", "safety.sae.#"]
    assert created["active"] is True
    read = client.get(f"/v1/subscriptions/{created['id']}", headers=auth(Role.MONITOR))
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert read.headers["ETag"] == '"v1"'
    listed = client.get("/v1/subscriptions", headers=auth(Role.ADMIN)).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert all("secret" not in s for s in listed)
    with log_db() as session:
        [stored] = session.execute(
            text("SELECT secret FROM notifications.subscription_secrets")
        ).scalars()
    assert created["secret"] not in stored


def test_a_retried_create_with_the_same_key_returns_the_first_subscription(
    client: TestClient, auth: TokenFactory
) -> None:
    headers = admin(auth)
    body = {"url": URL, "event_types": ["safety.dlt.*"]}
    first = client.post("/v1/subscriptions", json=body, headers=headers)
    again = client.post("/v1/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(client.get("/v1/subscriptions", headers=auth(Role.ADMIN)).json()["items"]) == 1


def test_a_replayed_create_withholds_the_secret_and_no_table_holds_it_in_clear(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    headers = admin(auth)
    body = {"url": URL, "event_types": ["safety.dlt.*"]}
    first = client.post("/v1/subscriptions", json=body, headers=headers)
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    again = client.post("/v1/subscriptions", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Idempotent-Withheld"] == "secret"
    assert again.json()["secret"] is None
    assert again.json()["id"] == first.json()["id"]
    # The secret (or its base64 key part) is in no column of any table of the service.
    key_part = secret.removeprefix("whsec_")
    with log_db() as session:
        tables = session.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema = 'notifications' AND table_type = 'BASE TABLE'"
            )
        ).all()
        assert len(tables) > 5
        for schema, table in tables:
            found = session.execute(
                text(f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE t::text LIKE :needle'),
                {"needle": f"%{key_part}%"},
            ).scalar_one()
            assert found == 0, f"{schema}.{table} holds the secret in clear"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"url": URL, "event_types": []}, "event_types"),
        ({"url": URL}, "event_types"),
        ({"url": URL, "event_types": ["Safety.DLT"]}, "not a pattern"),
        ({"url": "ftp://127.0.0.1/x", "event_types": ["#"]}, "https://"),
        ({"url": "https://no-such-host.invalid/x", "event_types": ["#"]}, "does not resolve"),
        ({"url": URL, "event_types": ["#"], "secret": "mine"}, "secret"),
        ({"event_types": ["#"]}, "url"),
    ],
)
def test_bad_subscriptions_are_refused_with_what_to_fix(
    client: TestClient, auth: TokenFactory, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/v1/subscriptions", json=body, headers=admin(auth))
    assert response.status_code == 422, response.text
    assert fragment in response.text
    assert client.get("/v1/subscriptions", headers=auth(Role.ADMIN)).json()["items"] == []


def test_a_loopback_target_is_refused_unless_the_settings_allow_list_it(
    api: Callable[..., TestClient], auth: TokenFactory
) -> None:
    strict = api("notifications")
    refused = strict.post(
        "/v1/subscriptions", json={"url": URL, "event_types": ["#"]}, headers=admin(auth)
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/webhook-target-refused"
    assert "loopback" in refused.json()["detail"]


def test_only_administrators_manage_subscriptions(client: TestClient, auth: TokenFactory) -> None:
    body = {"url": URL, "event_types": ["#"]}
    for role in (Role.MONITOR, Role.SAFETY_PHYSICIAN, Role.EHR_INTEGRATION):
        assert client.post("/v1/subscriptions", json=body, headers=auth(role)).status_code == 403
    assert client.get("/v1/subscriptions", headers=auth(Role.INVESTIGATOR)).status_code == 403


def test_updates_need_the_current_etag_and_are_audited(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    created = subscribe(client, auth, URL)
    path = f"/v1/subscriptions/{created['id']}"
    change = {"event_types": ["safety.#"], "description": "pharmacy production hold"}
    assert client.patch(path, json=change, headers=auth(Role.ADMIN)).status_code == 428
    stale = client.patch(path, json=change, headers={**auth(Role.ADMIN), "If-Match": '"v9"'})
    assert stale.status_code == 412
    done = client.patch(path, json=change, headers={**auth(Role.ADMIN), "If-Match": '"v1"'})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"v2"'
    assert done.json()["event_types"] == ["safety.#"]
    paused = client.patch(
        path, json={"active": False}, headers={**auth(Role.ADMIN), "If-Match": '"v2"'}
    )
    assert paused.json()["active"] is False
    with log_db() as session:
        actions = [
            e["action"]
            for e in audit.entity_history(
                session, entity_type="subscription", entity_id=created["id"]
            )
        ]
    assert actions == ["subscription.create", "subscription.update", "subscription.update"]


@pytest.mark.parametrize(
    "body",
    [{}, {"active": None}, {"url": None}, {"event_types": ["bad pattern"]}, {"colour": "red"}],
)
def test_bad_updates_change_nothing(
    client: TestClient, auth: TokenFactory, body: dict[str, Any]
) -> None:
    created = subscribe(client, auth, URL)
    path = f"/v1/subscriptions/{created['id']}"
    response = client.patch(path, json=body, headers={**auth(Role.ADMIN), "If-Match": '"v1"'})
    assert response.status_code == 422, response.text
    assert client.get(path, headers=auth(Role.ADMIN)).headers["ETag"] == '"v1"'


def test_a_deleted_subscription_is_gone_and_its_pending_deliveries_cancelled(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    from .conftest import append, dlt_confirmed

    created = subscribe(client, auth, URL)
    append(log_db, dlt_confirmed(1))
    path = f"/v1/subscriptions/{created['id']}"
    assert client.delete(path, headers=auth(Role.ADMIN)).status_code == 428
    assert client.delete(path, headers={**auth(Role.ADMIN), "If-Match": '"v1"'}).status_code == 204
    assert client.get(path, headers=auth(Role.ADMIN)).status_code == 404
    with log_db() as session:
        statuses = session.execute(text("SELECT status FROM notifications.deliveries")).scalars()
        assert list(statuses) == ["cancelled"]


def test_rotating_the_secret_keeps_the_old_one_for_the_overlap(
    client: TestClient, auth: TokenFactory
) -> None:
    created = subscribe(client, auth, URL)
    path = f"/v1/subscriptions/{created['id']}"
    rotated = client.post(
        f"{path}/secret/rotate", json={"overlap_hours": 2}, headers=auth(Role.ADMIN)
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    secrets = client.get(path, headers=auth(Role.ADMIN)).json()["secrets"]
    assert [s["expires_at"] is None for s in secrets] == [True, False]
    bad = client.post(f"{path}/secret/rotate", json={"overlap_hours": -1}, headers=auth(Role.ADMIN))
    assert bad.status_code == 422


@pytest.mark.parametrize("overlap", [False, True, "2"])
def test_an_overlap_that_is_not_a_json_number_is_refused_and_keeps_the_secret(
    client: TestClient, auth: TokenFactory, overlap: object
) -> None:
    created = subscribe(client, auth, URL)
    path = f"/v1/subscriptions/{created['id']}"
    refused = client.post(
        f"{path}/secret/rotate", json={"overlap_hours": overlap}, headers=auth(Role.ADMIN)
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "overlap_hours"]
    secrets = client.get(path, headers=auth(Role.ADMIN)).json()["secrets"]
    assert [s["expires_at"] for s in secrets] == [None]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"from_time": "2026-03-02T09:00:00Z"},
        {"from_time": "2026-03-02T09:00:00", "to_time": "2026-03-02T10:00:00"},
        {"from_time": "2026-03-02T10:00:00Z", "to_time": "2026-03-02T09:00:00Z"},
        {"event_id": "x", "from_time": "2026-03-02T09:00:00Z", "to_time": "2026-03-02T10:00:00Z"},
        {"event_id": "no-such-event"},
    ],
)
def test_bad_replay_requests_are_refused(
    client: TestClient, auth: TokenFactory, body: dict[str, Any]
) -> None:
    created = subscribe(client, auth, URL)
    response = client.post(
        f"/v1/subscriptions/{created['id']}/replays", json=body, headers=auth(Role.ADMIN)
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/secret/rotate"),
        ("post", "/replays"),
        ("get", "/deliveries"),
    ],
)
def test_unknown_subscriptions_are_not_found(
    client: TestClient, auth: TokenFactory, method: str, suffix: str
) -> None:
    path = f"/v1/subscriptions/{uuid.uuid4()}{suffix}"
    kwargs: dict[str, Any] = {"headers": {**auth(Role.ADMIN), "If-Match": '"v1"'}}
    if method in {"patch", "post"}:
        kwargs["json"] = (
            {"description": "x"}
            if method == "patch"
            else ({"event_id": "x"} if suffix == "/replays" else {})
        )
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 404, response.text
