"""Every endpoint answers bad input with a problem, never a 500; races leave one winner."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doseline import audit
from doseline.auth import Role

from .conftest import Desk, site_today

SUBJECT = "HDMSC-RP-01-001"
MISSING = "5f0e4d3c-2b1a-4c9d-8e7f-6a5b4c3d2e1f"  # a fixed id no record has


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/v1/subjects/HDMSC-RP-01-404", None, 404),
        (
            "PUT",
            "/v1/subjects/HDMSC-RP-01-404/baseline",
            {"pneumonitis_grade": 1, "oxygen_use": False},
            409,
        ),
        (
            "PUT",
            f"/v1/subjects/{SUBJECT}/baseline",
            {"pneumonitis_grade": 9, "oxygen_use": False},
            422,
        ),
        ("GET", f"/v1/adverse-events/{MISSING}", None, 404),
        ("GET", f"/v1/adverse-events/{MISSING}/history", None, 404),
        ("GET", "/v1/adverse-events/not-a-uuid", None, 422),
        ("GET", "/v1/adverse-events?cursor=garbage", None, 422),
        ("GET", "/v1/adverse-events?limit=0", None, 422),
        ("POST", f"/v1/adverse-events/{MISSING}/follow-ups", {"x": 1}, 422),
        (
            "POST",
            f"/v1/adverse-events/{MISSING}/sponsor-report",
            {"reported_at": "2026-01-01T00:00:00Z"},
            404,
        ),
        ("POST", "/v1/adverse-events", [], 422),
        ("GET", f"/v1/dlts/{MISSING}", None, 404),
        ("GET", "/v1/dlts?status=maybe", None, 422),
        ("POST", f"/v1/dlts/{MISSING}/adjudication", {"decision": "confirm"}, 404),
        ("POST", f"/v1/dlts/{MISSING}/adjudication", {"decision": "perhaps"}, 422),
        # The DLT rules come from the protocol document only: safety cannot be told others.
        ("GET", "/v1/trials/NOPE/protocol-versions", None, 404),
        ("GET", f"/v1/trials/{'X' * 41}/protocol-versions", None, 422),
        ("GET", f"/v1/trials/{'X' * 41}/dlt-reviews", None, 422),
        ("PUT", "/v1/trials/HDMSC-RP-01/dlt-rules", {"rules": {}, "reason": "why"}, 404),
        ("GET", f"/v1/proposed-adverse-events/{MISSING}", None, 404),
        ("POST", f"/v1/proposed-adverse-events/{MISSING}/rejection", {"reason": "bad sample"}, 404),
        ("GET", "/v1/ctcae/versions/5.0/terms/00000000", None, 404),
        ("GET", "/v1/ctcae/versions/5.0/terms?limit=100000", None, 422),
        ("POST", "/v1/ctcae/imports", None, 422),
    ],
)
def test_bad_requests_are_problems_that_say_what_to_fix(
    desk: Desk, method: str, path: str, body: Any, status: int
) -> None:
    desk.enrol(SUBJECT)
    roles = (Role.ADMIN, Role.INVESTIGATOR, Role.SAFETY_PHYSICIAN, Role.MONITOR)
    headers = {
        **desk.auth(*roles, auth_time=datetime.now(UTC)),
        "If-Match": '"v1"',
    }
    response = desk.client.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_an_infusion_event_before_the_enrolment_event_still_gives_a_known_subject(
    desk: Desk,
) -> None:
    day1 = site_today() - timedelta(days=11)
    desk.infuse(SUBJECT, day1=day1)
    desk.report(409)  # not enrolled yet: unknown to safety
    desk.enrol(SUBJECT)
    desk.baseline(SUBJECT, 1)
    ae = desk.report(onset_date=day1.isoformat())
    assert ae["dlt_evaluation"] == "suspected_dlt"


def test_every_change_to_an_ae_is_in_its_audit_trail_with_the_reason(desk: Desk) -> None:
    desk.enrol(SUBJECT)
    ae = desk.report(grade=2)
    url = f"/v1/adverse-events/{ae['id']}"
    etag = desk.client.get(url, headers=desk.as_(Role.MONITOR)).headers["ETag"]
    body = {k: v for k, v in ae["current"].items() if k in {"term_code", "verbatim", "onset_date"}}
    body |= {
        "grade": 3,
        "attribution": "possible",
        "action_taken": "dose_not_changed",
        "outcome": "not_recovered_not_resolved",
        "reason_for_change": "oxygen started",
    }
    desk.client.post(
        f"{url}/follow-ups", json=body, headers={**desk.as_(Role.INVESTIGATOR), "If-Match": etag}
    )
    with desk.db() as session:
        history = audit.entity_history(session, entity_type="adverse_event", entity_id=ae["id"])
        report = audit.verify(session)
    assert [(e["action"], e["reason"]) for e in history] == [
        ("adverse_event.report", None),
        ("adverse_event.follow_up", "oxygen started"),
    ]
    assert history[1]["before"]["grade"] == 2
    assert history[1]["after"]["grade"] == 3
    assert report.intact
    shown = desk.client.get(f"{url}/history", headers=desk.as_(Role.MONITOR)).json()
    assert [(e["action"], e["reason"]) for e in shown] == [
        ("adverse_event.report", None),
        ("adverse_event.follow_up", "oxygen started"),
    ]


def test_two_safety_physicians_signing_at_once_leave_one_signature(desk: Desk) -> None:
    day1 = site_today() - timedelta(days=11)
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=day1)
    desk.baseline(SUBJECT, 1)
    desk.report(onset_date=day1.isoformat())
    [dlt] = desk.client.get("/v1/dlts", headers=desk.as_(Role.MONITOR)).json()
    etag = desk.client.get(f"/v1/dlts/{dlt['id']}", headers=desk.as_(Role.MONITOR)).headers["ETag"]
    results: list[int] = []

    def sign(person: str, decision: str) -> None:
        response = desk.client.post(
            f"/v1/dlts/{dlt['id']}/adjudication",
            json={"decision": decision},
            headers={
                **desk.auth(Role.SAFETY_PHYSICIAN, subject=person, auth_time=datetime.now(UTC)),
                "If-Match": etag,
            },
        )
        results.append(response.status_code)

    threads = [
        threading.Thread(target=sign, args=("dr-chen", "confirm")),
        threading.Thread(target=sign, args=("dr-wu", "rule_out")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
    [after] = desk.client.get("/v1/dlts", headers=desk.as_(Role.MONITOR)).json()
    assert len(after["signatures"]) == 1
    assert after["adjudication_sequence"] == 2
