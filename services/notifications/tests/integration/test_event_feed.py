"""The feed: every public event once, in the log's order, resumable from any cursor."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.pagination import MAX_PAGE_SIZE
from doseline.testing.plugin import TokenFactory

from .conftest import append, dlt_confirmed


def _read(
    client: TestClient, auth: TokenFactory, after: str | None = None, **params: Any
) -> dict[str, Any]:
    query = {**params, **({"after": after} if after else {})}
    response = client.get("/v1/events", params=query, headers=auth(Role.MONITOR))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_a_consumer_from_the_start_sees_every_event_once_in_order_and_resumes_half_way(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    envelopes = [dlt_confirmed(n) for n in range(30)]
    append(log_db, *envelopes)

    seen: list[str] = []
    cursor = None
    for _ in range(2):  # two pages, then the consumer goes down
        page = _read(client, auth, cursor, limit=7)
        seen += [event["id"] for event in page["items"]]
        cursor = page["next_cursor"]
    saved = cursor

    append(log_db, *(more := [dlt_confirmed(n) for n in range(30, 35)]))
    cursor = saved
    while True:  # back up: resume from the stored cursor
        page = _read(client, auth, cursor, limit=7)
        seen += [event["id"] for event in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [e.id for e in envelopes + more]
    assert _read(client, auth, cursor)["items"] == []
    assert _read(client, auth, cursor)["next_cursor"] == cursor


def test_appends_racing_a_reader_are_seen_exactly_once_and_in_position_order(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    writers, per_writer = 8, 25
    done = threading.Event()

    def write(worker: int) -> None:
        for n in range(per_writer):
            append(log_db, dlt_confirmed(worker * 1000 + n))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        finished = done.is_set()
        page = _read(client, auth, cursor, limit=13)
        seen += page["items"]
        cursor = page["next_cursor"]
        if finished and not page["has_more"]:
            break
        if all(not t.is_alive() for t in threads):
            done.set()
    sequences = [event["sequence"] for event in seen]
    assert len(seen) == writers * per_writer
    assert len({event["id"] for event in seen}) == writers * per_writer
    assert sequences == sorted(sequences)


def test_the_same_event_delivered_twice_is_logged_once(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    envelope = dlt_confirmed(1)
    first, second = append(log_db, envelope, envelope)
    assert first is not None
    assert second is None
    assert [e["id"] for e in _read(client, auth)["items"]] == [envelope.id]


def test_filters_select_by_type_pattern_trial_and_subject(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    a = dlt_confirmed(1, subject_id="HDMSC-RP-01-001")
    b = dlt_confirmed(2, subject_id="HDMSC-RP-01-002")
    append(log_db, a, b)
    assert len(_read(client, auth, type="safety.dlt.*")["items"]) == 2
    assert len(_read(client, auth, type="safety.#")["items"]) == 2
    assert _read(client, auth, type="enrollment.#")["items"] == []
    assert len(_read(client, auth, trial="HDMSC-RP-01")["items"]) == 2
    assert _read(client, auth, trial="OTHER-01")["items"] == []
    only_b = _read(client, auth, subject="HDMSC-RP-01-002")["items"]
    assert [e["id"] for e in only_b] == [b.id]
    assert only_b[0]["data"]["subject_id"] == "HDMSC-RP-01-002"


def test_filters_accept_the_forms_the_api_itself_writes_and_refuse_others(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    a = dlt_confirmed(1, subject_id="HDMSC-RP-01-001")
    b = dlt_confirmed(2, subject_id="HDMSC-RP-01-002")
    append(log_db, a, b)
    as_events_write_it = _read(client, auth, subject="subjects/HDMSC-RP-01-002")["items"]
    assert [e["id"] for e in as_events_write_it] == [b.id]
    assert len(_read(client, auth, trial="trials/HDMSC-RP-01")["items"]) == 2
    for name, value in (("subject", "patient-7"), ("subject", "Patient/1"), ("trial", "x y")):
        refused = client.get("/v1/events", params={name: value}, headers=auth(Role.MONITOR))
        assert refused.status_code == 422, refused.text
        assert name in refused.text


def test_a_hospital_system_reads_the_feed_only_where_the_deployment_allows_it(
    api: Any, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    append(log_db, dlt_confirmed(1))
    ehr = auth(Role.EHR_INTEGRATION)
    refused = api("notifications").get("/v1/events", headers=ehr)
    assert refused.status_code == 403, refused.text
    assert "NOTIFICATIONS_EHR_INTEGRATION_READS_FEED" in refused.json()["detail"]
    allowed = api("notifications", ehr_integration_reads_feed=True).get("/v1/events", headers=ehr)
    assert allowed.status_code == 200, allowed.text
    assert len(allowed.json()["items"]) == 1


def test_one_event_is_read_by_its_id(
    client: TestClient, auth: TokenFactory, log_db: sessionmaker[Session]
) -> None:
    envelope = dlt_confirmed(1)
    append(log_db, envelope)
    found = client.get(f"/v1/events/{envelope.id}", headers=auth(Role.SAFETY_PHYSICIAN))
    assert found.status_code == 200
    assert found.json()["type"] == "safety.dlt.confirmed"
    missing = client.get("/v1/events/no-such-event", headers=auth(Role.MONITOR))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "Safety.DLT"}, "type"),
        ({"type": "safety..dlt"}, "type"),
        ({"after": "not-a-cursor"}, "cursor"),
        ({"after": "eyJwIjoiYSJ9"}, "after"),  # {"p":"a"}
        ({"limit": 0}, "limit"),
        ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
    ],
)
def test_bad_feed_queries_are_refused_with_what_to_fix(
    client: TestClient, auth: TokenFactory, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/events", params=params, headers=auth(Role.MONITOR))
    assert response.status_code == 422, response.text
    assert field in response.text


def test_a_hospital_system_token_cannot_read_the_feed(
    client: TestClient, auth: TokenFactory
) -> None:
    assert client.get("/v1/events", headers=auth(Role.EHR_INTEGRATION)).status_code == 403


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE notifications.event_log SET event_type = 'safety.dlt.ruled_out'",
        "DELETE FROM notifications.event_log",
        "TRUNCATE notifications.event_log CASCADE",
    ],
)
def test_the_database_refuses_to_rewrite_the_log(
    log_db: sessionmaker[Session], clean_db: Engine, statement: str
) -> None:
    append(log_db, dlt_confirmed(1))
    with pytest.raises(DBAPIError, match="append-only"), clean_db.begin() as connection:
        connection.execute(text(statement))
