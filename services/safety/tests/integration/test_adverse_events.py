"""Reporting adverse events: grade validation, versions, baselines, refusals that leave nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from doseline.auth import Role
from safety.adverse_events.models import AdverseEventRow

from .conftest import HYPOXIA, PNEUMONITIS, RESPIRATORY_FAILURE, Desk, ae_body, site_today

SUBJECT = "HDMSC-RP-01-001"


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=11))
    return desk


@pytest.mark.parametrize(
    ("term_code", "grade", "defined"),
    [(HYPOXIA, 1, [2, 3, 4, 5]), (RESPIRATORY_FAILURE, 2, [4, 5])],
)
def test_a_grade_the_term_does_not_define_is_422_naming_the_grades_it_defines(
    enrolled: Desk, term_code: str, grade: int, defined: list[int]
) -> None:
    problem = enrolled.report(422, term_code=term_code, grade=grade)
    assert problem["defined_grades"] == defined
    assert ", ".join(str(g) for g in defined) in problem["detail"]
    assert problem["type"] == "/problems/ctcae-grade-not-defined"


def test_an_other_specify_term_requires_the_specification(enrolled: Desk) -> None:
    other = enrolled.client.get(
        "/v1/ctcae/versions/5.0/terms",
        params={"q": "Respiratory, thoracic and mediastinal disorders - Other"},
        headers=enrolled.as_(Role.MONITOR),
    ).json()[0]
    assert other["requires_specification"] is True
    problem = enrolled.report(422, term_code=other["meddra_code"], grade=2)
    assert problem["errors"][0]["loc"] == ["body", "specification"]
    enrolled.report(201, term_code=other["meddra_code"], grade=2, specification="Hemoptysis")


def test_an_ae_for_a_subject_safety_has_not_heard_of_is_409_and_leaves_nothing(
    desk: Desk,
) -> None:
    problem = desk.report(409, subject_id="HDMSC-RP-01-999")
    assert problem["type"] == "/problems/subject-unknown-to-safety"
    assert "enrollment" in problem["detail"]
    with desk.db() as session:
        assert session.scalar(select(func.count()).select_from(AdverseEventRow)) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"grade": 0}, "grade"),
        ({"grade": 6}, "grade"),
        ({"term_code": "123"}, "term_code"),
        ({"attribution": "maybe"}, "attribution"),
        ({"onset_date": "2026-02-30"}, "onset_date"),
        ({"verbatim": ""}, "verbatim"),
        ({"seriousness": ["hospitalisation"]}, "body"),
        ({"seriousness": ["sneezing"], "aware_at": "2026-01-01T00:00:00+00:00"}, "seriousness"),
        ({"resolution_date": "2000-01-01"}, "body"),
        ({"aware_at": "2026-01-01T00:00:00"}, "aware_at"),
    ],
)
def test_bad_reports_are_422_problems_that_name_the_field(
    enrolled: Desk, overrides: dict[str, Any], field: str
) -> None:
    problem = enrolled.report(422, **overrides)
    assert any(field in error["loc"] for error in problem["errors"]), problem


def test_an_onset_after_today_at_the_site_is_refused(enrolled: Desk) -> None:
    future = (site_today() + timedelta(days=2)).isoformat()
    problem = enrolled.report(422, onset_date=future)
    assert problem["errors"][0]["loc"] == ["body", "onset_date"]


def test_an_unknown_term_is_404_that_says_how_to_find_the_code(enrolled: Desk) -> None:
    problem = enrolled.report(404, term_code="99999999")
    assert "search" in problem["detail"]


def test_a_retried_report_with_the_same_idempotency_key_creates_one_ae(enrolled: Desk) -> None:
    headers = enrolled.as_(Role.COORDINATOR)
    first = enrolled.client.post("/v1/adverse-events", json=ae_body(), headers=headers)
    second = enrolled.client.post("/v1/adverse-events", json=ae_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    with enrolled.db() as session:
        assert session.scalar(select(func.count()).select_from(AdverseEventRow)) == 1


def test_a_monitor_reads_but_cannot_report(enrolled: Desk) -> None:
    created = enrolled.report()
    refused = enrolled.client.post(
        "/v1/adverse-events", json=ae_body(), headers=enrolled.as_(Role.MONITOR)
    )
    assert refused.status_code == 403
    read = enrolled.client.get(
        f"/v1/adverse-events/{created['id']}", headers=enrolled.as_(Role.MONITOR)
    )
    assert read.status_code == 200
    listed = enrolled.client.get(
        "/v1/adverse-events", params={"subject_id": SUBJECT}, headers=enrolled.as_(Role.MONITOR)
    ).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]


def test_a_follow_up_creates_a_version_with_its_reason_and_needs_if_match(enrolled: Desk) -> None:
    created = enrolled.report(grade=2)
    url = f"/v1/adverse-events/{created['id']}"
    etag = enrolled.client.get(url, headers=enrolled.as_(Role.INVESTIGATOR)).headers["ETag"]
    body = ae_body(grade=3, reason_for_change="oxygen started on day 3")
    del body["subject_id"]
    missing = enrolled.client.post(
        f"{url}/follow-ups", json=body, headers=enrolled.as_(Role.INVESTIGATOR)
    )
    assert missing.status_code == 428
    no_reason = {k: v for k, v in body.items() if k != "reason_for_change"}
    refused = enrolled.client.post(
        f"{url}/follow-ups",
        json=no_reason,
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert refused.status_code == 422
    updated = enrolled.client.post(
        f"{url}/follow-ups",
        json=body,
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert updated.status_code == 200, updated.text
    stale = enrolled.client.post(
        f"{url}/follow-ups",
        json=body,
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert stale.status_code == 412
    history = enrolled.client.get(url, headers=enrolled.as_(Role.MONITOR)).json()
    assert [(v["number"], v["grade"], v["reason_for_change"]) for v in history["versions"]] == [
        (1, 2, None),
        (2, 3, "oxygen started on day 3"),
    ]


def test_the_baseline_is_recorded_and_changing_it_needs_a_reason(enrolled: Desk) -> None:
    enrolled.baseline(SUBJECT, 1)
    subject = enrolled.client.get(f"/v1/subjects/{SUBJECT}", headers=enrolled.as_(Role.MONITOR))
    assert subject.json()["baseline_pneumonitis_grade"] == 1
    change = enrolled.client.put(
        f"/v1/subjects/{SUBJECT}/baseline",
        json={
            "pneumonitis_grade": 2,
            "oxygen_use": True,
            "conditions": [{"term_code": "10013963", "grade": 1}],
        },
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": subject.headers["ETag"]},
    )
    assert change.status_code == 422
    assert change.json()["errors"][0]["loc"] == ["body", "reason"]
    bad_grade = enrolled.client.put(
        f"/v1/subjects/{SUBJECT}/baseline",
        json={
            "pneumonitis_grade": 2,
            "oxygen_use": True,
            "conditions": [{"term_code": HYPOXIA, "grade": 1}],
            "reason": "source document review",
        },
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": subject.headers["ETag"]},
    )
    assert bad_grade.status_code == 422
    assert bad_grade.json()["defined_grades"] == [2, 3, 4, 5]
    changed = enrolled.client.put(
        f"/v1/subjects/{SUBJECT}/baseline",
        json={
            "pneumonitis_grade": 2,
            "oxygen_use": True,
            "conditions": [{"term_code": "10013963", "grade": 1}],
            "reason": "source document review",
        },
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": subject.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["baseline_conditions"] == [
        {"ctcae_version": "5.0", "term_code": "10013963", "term": "Dyspnea", "grade": 1}
    ]


def test_a_serious_ae_starts_a_24_hour_clock_that_the_sponsor_report_stops(
    enrolled: Desk,
) -> None:
    aware = datetime.now(UTC) - timedelta(hours=2)
    created = enrolled.report(
        seriousness=["hospitalisation"], aware_at=aware.isoformat(), term_code=PNEUMONITIS
    )
    clock = created["sae_clock"]
    assert clock["status"] == "running"
    assert datetime.fromisoformat(clock["due_at"]) == aware + timedelta(hours=24)
    url = f"/v1/adverse-events/{created['id']}/sponsor-report"
    etag = enrolled.client.get(
        f"/v1/adverse-events/{created['id']}", headers=enrolled.as_(Role.MONITOR)
    ).headers["ETag"]
    early = enrolled.client.post(
        url,
        json={"reported_at": (aware - timedelta(hours=1)).isoformat()},
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert early.status_code == 422
    reported = enrolled.client.post(
        url,
        json={"reported_at": datetime.now(UTC).isoformat()},
        headers={**enrolled.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["sae_clock"]["status"] == "reported"


def test_the_ae_list_pages_with_a_cursor_oldest_first(enrolled: Desk) -> None:
    created = [enrolled.report(verbatim=f"event {n}")["id"] for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"trial_id": "HDMSC-RP-01", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = enrolled.client.get(
            "/v1/adverse-events", params=params, headers=enrolled.as_(Role.MONITOR)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


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


def test_a_report_costs_the_same_statements_however_many_aes_are_stored(enrolled: Desk) -> None:
    """Each row a report needs is read once (the subject, the CTCAE term), and nothing it runs
    grows with the AEs already stored: the 2nd and the 12th report run the same statements."""
    onset = (site_today() - timedelta(days=5)).isoformat()
    enrolled.report(grade=1, onset_date=onset)
    with _statements() as second:
        enrolled.report(grade=1, onset_date=onset)
    for _ in range(9):
        enrolled.report(grade=1, onset_date=onset)
    with _statements() as twelfth:
        answer = enrolled.report(grade=1, onset_date=onset)
    assert len(second) == len(twelfth)
    assert [_shape(s) for s in second] == [_shape(s) for s in twelfth]
    subject_reads = [
        s for s in second if _shape(s).startswith("SELECT") and "FROM safety.subjects" in s
    ]
    # One for the caller's site scope, one locking the subject for the DLT rules and the event.
    assert len(subject_reads) == 2
    assert sum("FROM safety.ctcae_terms" in s for s in second) == 1
    assert not any("FROM safety.ctcae_versions" in s for s in second)
    assert answer["dlt_evaluation"] == "not_dlt"
    assert answer["current"]["number"] == 1


def _shape(statement: str) -> str:
    return " ".join(statement.split())
