"""The DLT and adverse-event lists page with cursors and read each page in a fixed number of
queries, however many cases or events it shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from doseline.auth import Role

from .conftest import Desk, ae_body, site_today

SUBJECT = "HDMSC-RP-01-001"


@pytest.fixture
def treated(desk: Desk) -> Desk:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=45))
    desk.baseline(SUBJECT, 1)
    return desk


def _day(desk_day1: date, study_day: int) -> str:
    return (desk_day1 + timedelta(days=study_day - 1)).isoformat()


def _suspected(desk: Desk, count: int) -> list[dict[str, Any]]:
    day1 = site_today() - timedelta(days=45)
    return [desk.report(onset_date=_day(day1, 10 + n)) for n in range(count)]


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _next_link(response: Any) -> str | None:
    found = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return found[1] if found else None


def test_the_dlt_list_pages_through_every_case_once_following_its_next_links(
    treated: Desk,
) -> None:
    _suspected(treated, 3)
    first = treated.client.get(
        "/v1/dlts?status=suspected&limit=2", headers=treated.as_(Role.MONITOR)
    )
    assert first.status_code == 200, first.text
    assert len(first.json()) == 2
    link = _next_link(first)
    assert link is not None
    assert link.startswith("/v1/dlts?")
    assert "status=suspected" in link
    second = treated.client.get(link, headers=treated.as_(Role.MONITOR))
    assert second.status_code == 200, second.text
    assert len(second.json()) == 1
    assert _next_link(second) is None
    seen = [case["id"] for case in first.json() + second.json()]
    assert len(set(seen)) == 3


def _confirm(desk: Desk, dlt_id: str) -> None:
    etag = desk.client.get(f"/v1/dlts/{dlt_id}", headers=desk.as_(Role.MONITOR))
    signer = desk.auth(
        Role.SAFETY_PHYSICIAN, subject="dr-chen", name="Dr Chen", auth_time=datetime.now(UTC)
    )
    confirmed = desk.client.post(
        f"/v1/dlts/{dlt_id}/adjudication",
        json={"decision": "confirm", "comment": "reviewed source documents"},
        headers={**signer, "If-Match": etag.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.text


def test_a_case_adjudicated_between_two_pages_is_shown_once_in_its_place(
    treated: Desk,
) -> None:
    reported = [ae["id"] for ae in _suspected(treated, 3)]
    first = treated.client.get("/v1/dlts?limit=2", headers=treated.as_(Role.MONITOR))
    assert first.status_code == 200, first.text
    link = _next_link(first)
    assert link is not None
    on_first = {case["id"] for case in first.json()}
    everything = treated.client.get("/v1/dlts", headers=treated.as_(Role.MONITOR)).json()
    [still_to_come] = [case["id"] for case in everything if case["id"] not in on_first]
    # One case already read and one still to come change (their last change is now the newest).
    _confirm(treated, first.json()[0]["id"])
    _confirm(treated, still_to_come)
    second = treated.client.get(link, headers=treated.as_(Role.MONITOR))
    assert second.status_code == 200, second.text
    assert _next_link(second) is None
    cases = first.json() + second.json()
    assert [case["ae_id"] for case in cases] == reported  # each once, in the order opened
    assert [case["status"] for case in second.json()] == ["confirmed"]


def test_a_dlt_page_carries_each_cases_signatures_read_in_one_query(treated: Desk) -> None:
    _suspected(treated, 1)
    [case] = treated.client.get("/v1/dlts", headers=treated.as_(Role.MONITOR)).json()
    _confirm(treated, case["id"])
    with _statements() as one_case:
        listed = treated.client.get("/v1/dlts", headers=treated.as_(Role.MONITOR)).json()
    [signature] = listed[0]["signatures"]
    assert signature["signer"] == "dr-chen"
    _suspected(treated, 4)
    with _statements() as five_cases:
        assert len(treated.client.get("/v1/dlts", headers=treated.as_(Role.MONITOR)).json()) == 5
    assert len(five_cases) == len(one_case)


def test_the_ae_list_shows_each_events_current_version_in_a_fixed_number_of_queries(
    treated: Desk,
) -> None:
    [first] = _suspected(treated, 1)
    url = f"/v1/adverse-events/{first['id']}"
    etag = treated.client.get(url, headers=treated.as_(Role.MONITOR)).headers["ETag"]
    body = ae_body(reason_for_change="source data verification", grade=4)
    del body["subject_id"]
    followed = treated.client.post(
        f"{url}/follow-ups", json=body, headers={**treated.as_(Role.INVESTIGATOR), "If-Match": etag}
    )
    assert followed.status_code == 200, followed.text
    with _statements() as one_event:
        page = treated.client.get(
            "/v1/adverse-events?trial_id=HDMSC-RP-01", headers=treated.as_(Role.MONITOR)
        ).json()
    assert [(item["current"]["number"], item["current"]["grade"]) for item in page["items"]] == [
        (2, 4)
    ]
    _suspected(treated, 4)
    with _statements() as five_events:
        page = treated.client.get(
            "/v1/adverse-events?trial_id=HDMSC-RP-01", headers=treated.as_(Role.MONITOR)
        ).json()
    assert len(page["items"]) == 5
    assert page["next_cursor"] is None
    assert len(five_events) == len(one_event)


def test_the_ae_list_resumes_after_its_cursor_without_repeating_or_skipping(
    treated: Desk,
) -> None:
    reported = [ae["id"] for ae in _suspected(treated, 3)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params = {"subject_id": SUBJECT, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = treated.client.get(
            "/v1/adverse-events", params=params, headers=treated.as_(Role.MONITOR)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == reported


@pytest.mark.parametrize(
    "path",
    ["/v1/dlts", "/v1/adverse-events", "/v1/proposed-adverse-events", "/v1/lab-intake-conflicts"],
)
@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64-json",
        "eyJzZXEiOjF9",  # {"seq":1}: another list's cursor
        "eyJjcmVhdGVkX2F0IjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImlkIjoiMSJ9",  # naive moment, bad id
    ],
)
def test_a_cursor_this_list_did_not_issue_is_a_422_naming_the_parameter(
    treated: Desk, path: str, cursor: str
) -> None:
    response = treated.client.get(
        path, params={"cursor": cursor}, headers=treated.as_(Role.MONITOR)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_a_page_size_over_the_policy_is_refused(treated: Desk) -> None:
    response = treated.client.get("/v1/dlts?limit=1001", headers=treated.as_(Role.MONITOR))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
