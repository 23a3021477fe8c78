"""A DLT from report to escalation, over the real broker.

Enrollment treats a subject (its events give safety the subject and the DLT window); the site
reports grade 3 pneumonitis over a baseline grade 1, possibly related, on study day 12; safety
suspects a DLT, a safety physician confirms it with a signature, and enrollment's escalation
state counts it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.testing.enrollment_api import ok, site_day, staff_headers, treat
from doseline.testing.plugin import EventPump, TokenFactory
from safety.catalogue import service as catalogue
from safety.dictionary import shipped

TRIAL = "HDMSC-RP-01"
PNEUMONITIS = "10035742"


def test_a_confirmed_dlt_reaches_enrollment_and_changes_its_escalation_state(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    deliver_events: EventPump,
) -> None:
    with sessions("safety")() as session, session.begin():
        catalogue.import_file(
            session,
            shipped.workbook(),
            version=shipped.VERSION,
            replace=False,
            actor="test <fixture>",
        )
    enrollment, safety = api("enrollment"), api("safety")
    ok(
        enrollment.post(
            "/v1/trials",
            json={"shipped_protocol": "hdmsc-rp-01"},
            headers=auth(Role.ADMIN, subject="admin"),
        ),
        201,
    )
    subject_id = treat(
        enrollment,
        auth,
        day1_offset=-12,
        infusions=4,
        age=54,
        weight_kg="62.5",
        product_lot="LOT-7",
    )
    assert deliver_events() > 0

    known = ok(safety.get(f"/v1/subjects/{subject_id}", headers=auth(Role.MONITOR)))
    assert known["first_infusion_on"] == site_day(-12).isoformat()
    day1 = date.fromisoformat(known["first_infusion_on"])
    ok(
        safety.put(
            f"/v1/subjects/{subject_id}/baseline",
            json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
            headers={
                **staff_headers(auth, Role.INVESTIGATOR, "dr-li"),
                "If-Match": safety.get(
                    f"/v1/subjects/{subject_id}", headers=auth(Role.MONITOR)
                ).headers["ETag"],
            },
        )
    )
    assert _level_1(enrollment, auth)["dlts"] == 0

    ae = ok(
        safety.post(
            "/v1/adverse-events",
            json={
                "subject_id": subject_id,
                "term_code": PNEUMONITIS,
                "verbatim": "pneumonitis worse, oxygen started",
                "onset_date": (day1 + timedelta(days=11)).isoformat(),
                "grade": 3,
                "attribution": "possible",
                "action_taken": "dose_not_changed",
                "outcome": "not_recovered_not_resolved",
            },
            headers=staff_headers(auth, Role.INVESTIGATOR, "dr-li"),
        ),
        201,
    )
    assert ae["dlt_evaluation"] == "suspected_dlt"
    [dlt] = ok(safety.get("/v1/dlts", params={"status": "suspected"}, headers=auth(Role.MONITOR)))
    assert dlt["study_day"] == 12
    etag = safety.get(f"/v1/dlts/{dlt['id']}", headers=auth(Role.MONITOR)).headers["ETag"]
    ok(
        safety.post(
            f"/v1/dlts/{dlt['id']}/adjudication",
            json={"decision": "confirm"},
            headers=staff_headers(auth, Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
        )
    )
    assert deliver_events() > 0

    assert _level_1(enrollment, auth)["dlts"] == 1

    # The AE is corrected to grade 2 (a one-grade worsening): the confirmation is withdrawn and
    # enrollment, applying the highest adjudication sequence, no longer counts the DLT.
    current = safety.get(f"/v1/adverse-events/{ae['id']}", headers=auth(Role.MONITOR))
    ok(
        safety.post(
            f"/v1/adverse-events/{ae['id']}/follow-ups",
            json={
                "term_code": PNEUMONITIS,
                "verbatim": "pneumonitis worse, no oxygen needed after review",
                "onset_date": (day1 + timedelta(days=11)).isoformat(),
                "grade": 2,
                "attribution": "possible",
                "action_taken": "dose_not_changed",
                "outcome": "recovering_resolving",
                "reason_for_change": "source data verification: no oxygen was given",
            },
            headers={
                **staff_headers(auth, Role.INVESTIGATOR, "dr-li"),
                "If-Match": current.headers["ETag"],
            },
        )
    )
    assert deliver_events() > 0
    assert _level_1(enrollment, auth)["dlts"] == 0


def _level_1(enrollment: TestClient, auth: TokenFactory) -> dict[str, Any]:
    state = ok(enrollment.get(f"/v1/trials/{TRIAL}/escalation", headers=auth(Role.MONITOR)))
    level: dict[str, Any] = state["dose_levels"][0]
    assert level["dose_level"] == 1
    return level
