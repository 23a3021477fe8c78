"""The SAE clock: 24 hours from the site's awareness; overdue once, stopped by the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from doseline.auth import Role
from safety.manifest import SERVICE

from .conftest import Desk

SUBJECT = "HDMSC-RP-01-001"


@pytest.fixture
def serious(desk: Desk) -> tuple[Desk, str, datetime]:
    desk.enrol(SUBJECT)
    aware = datetime.now(UTC) - timedelta(hours=30)
    ae = desk.report(seriousness=["hospitalisation"], aware_at=aware.isoformat())
    return desk, ae["id"], aware


def _sweep(desk: Desk, now: datetime) -> None:
    [job] = SERVICE.periodic_jobs(SERVICE.settings_class())
    job.run(desk.db, now)


def _overdue_events(desk: Desk) -> list[dict[str, object]]:
    outbox = SERVICE.schema.kit.outbox
    with desk.db() as session:
        rows = session.execute(
            select(outbox.c.envelope).where(outbox.c.event_type == "safety.sae.overdue")
        ).all()
    return [row.envelope["data"] for row in rows]


def test_a_serious_ae_is_announced_when_reported(serious: tuple[Desk, str, datetime]) -> None:
    desk, ae_id, aware = serious
    outbox = SERVICE.schema.kit.outbox
    with desk.db() as session:
        [reported] = session.execute(
            select(outbox.c.envelope).where(outbox.c.event_type == "safety.sae.reported")
        ).all()
    data = reported.envelope["data"]
    assert data["ae_id"] == ae_id
    assert data["criteria"] == ["hospitalisation"]
    assert datetime.fromisoformat(data["due_at"]) == aware + timedelta(hours=24)


def test_the_clock_runs_out_once_and_raises_one_overdue_event(
    serious: tuple[Desk, str, datetime],
) -> None:
    desk, ae_id, aware = serious
    _sweep(desk, aware + timedelta(hours=23, minutes=59))
    assert _overdue_events(desk) == []
    _sweep(desk, aware + timedelta(hours=24))
    _sweep(desk, aware + timedelta(hours=25))
    assert [event["ae_id"] for event in _overdue_events(desk)] == [ae_id]
    listed = desk.client.get("/v1/sae/overdue", headers=desk.as_(Role.MONITOR)).json()
    assert [(item["id"], item["sae_clock"]["status"]) for item in listed] == [(ae_id, "overdue")]


def test_the_sponsor_report_stops_the_clock_and_a_late_report_says_so(
    serious: tuple[Desk, str, datetime],
) -> None:
    desk, ae_id, _aware = serious
    etag = desk.client.get(f"/v1/adverse-events/{ae_id}", headers=desk.as_(Role.MONITOR)).headers[
        "ETag"
    ]
    reported = desk.client.post(
        f"/v1/adverse-events/{ae_id}/sponsor-report",
        json={"reported_at": datetime.now(UTC).isoformat()},
        headers={**desk.as_(Role.COORDINATOR), "If-Match": etag},
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["sae_clock"]["status"] == "reported_late"
    _sweep(desk, datetime.now(UTC))
    assert _overdue_events(desk) == []
    assert desk.client.get("/v1/sae/overdue", headers=desk.as_(Role.MONITOR)).json() == []
    twice = desk.client.post(
        f"/v1/adverse-events/{ae_id}/sponsor-report",
        json={"reported_at": datetime.now(UTC).isoformat()},
        headers={**desk.as_(Role.COORDINATOR), "If-Match": reported.headers["ETag"]},
    )
    assert twice.status_code == 409


def test_a_non_serious_ae_has_no_clock_and_cannot_be_reported_to_the_sponsor(
    desk: Desk,
) -> None:
    desk.enrol(SUBJECT)
    ae = desk.report(grade=1, term_code="10011224")  # Cough
    assert ae["sae_clock"] is None
    etag = desk.client.get(
        f"/v1/adverse-events/{ae['id']}", headers=desk.as_(Role.MONITOR)
    ).headers["ETag"]
    refused = desk.client.post(
        f"/v1/adverse-events/{ae['id']}/sponsor-report",
        json={"reported_at": datetime.now(UTC).isoformat()},
        headers={**desk.as_(Role.COORDINATOR), "If-Match": etag},
    )
    assert refused.status_code == 409


def test_a_follow_up_that_makes_an_ae_serious_starts_its_clock(desk: Desk) -> None:
    desk.enrol(SUBJECT)
    ae = desk.report(grade=2)
    etag = desk.client.get(
        f"/v1/adverse-events/{ae['id']}", headers=desk.as_(Role.MONITOR)
    ).headers["ETag"]
    aware = datetime.now(UTC) - timedelta(hours=1)
    body = {
        **{k: v for k, v in ae["current"].items() if k in {"term_code", "verbatim", "onset_date"}},
        "grade": 3,
        "attribution": "possible",
        "action_taken": "drug_interrupted",
        "outcome": "not_recovered_not_resolved",
        "seriousness": ["hospitalisation"],
        "aware_at": aware.isoformat(),
        "reason_for_change": "admitted overnight",
    }
    updated = desk.client.post(
        f"/v1/adverse-events/{ae['id']}/follow-ups",
        json=body,
        headers={**desk.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["sae_clock"]["status"] == "running"
