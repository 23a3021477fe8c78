"""A DLT from report to escalation, over the real broker.

Enrollment treats a subject (its events give safety the subject and the DLT window); the site
reports grade 3 pneumonitis over a baseline grade 1, possibly related, on study day 12; safety
suspects a DLT, a safety physician confirms it with a signature, and enrollment's escalation
state counts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import EventPump, TokenFactory
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.dictionary.spreadsheet import read_ctcae

TRIAL = "HDMSC-RP-01"
SITE = ZoneInfo("Asia/Shanghai")
PNEUMONITIS = "10035742"
WORKBOOK = "CTCAE_v5.0_2017-11-27.xlsx"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _headers(auth: TokenFactory, role: Role, person: str, **extra: str) -> dict[str, str]:
    return {
        **auth(role, subject=person, auth_time=datetime.now(UTC)),
        "Idempotency-Key": str(uuid.uuid4()),
        **extra,
    }


def _site_day(offset: int) -> date:
    return (datetime.now(UTC) + timedelta(days=offset)).astimezone(SITE).date()


def _treat(client: TestClient, auth: TokenFactory) -> str:
    """Register, consent, screen, enrol, weigh, and give four dual-verified infusions."""
    nurse = _headers(auth, Role.COORDINATOR, "nurse-wang")
    registration = {"hospital_identifier": hospital_identifier()}
    sid = str(
        _ok(client.post(f"/v1/trials/{TRIAL}/subjects", json=registration, headers=nurse), 201)[
            "id"
        ]
    )
    read = client.get(f"/v1/subjects/{sid}", headers=nurse)
    _ok(
        client.patch(
            f"/v1/subjects/{sid}",
            json={"consent_signed_on": _site_day(-20).isoformat()},
            headers={**nurse, "If-Match": read.headers["ETag"]},
        )
    )
    answers = {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": _site_day(-25).isoformat()},
        "INC-03": {"value": True, "evidence_grade": 1},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": _site_day(-20).isoformat()},
    }
    screened = client.post(
        f"/v1/subjects/{sid}/screenings",
        json={"screened_on": _site_day(-19).isoformat(), "answers": answers},
        headers=_headers(auth, Role.COORDINATOR, "nurse-wang"),
    )
    screening = _ok(screened, 201)
    assert screening["status"] == "eligible", screening
    _ok(
        client.post(
            f"/v1/subjects/{sid}/screenings/{screening['id']}/sign-off",
            headers=_headers(
                auth, Role.INVESTIGATOR, "dr-li", **{"If-Match": screened.headers["ETag"]}
            ),
        )
    )
    _ok(
        client.post(
            f"/v1/trials/{TRIAL}/enrolments",
            json={"subject_id": sid},
            headers=_headers(auth, Role.COORDINATOR, "nurse-wang"),
        ),
        201,
    )
    _ok(
        client.post(
            f"/v1/subjects/{sid}/weights",
            json={"weight_kg": "62.5", "measured_on": _site_day(-14).isoformat()},
            headers=_headers(auth, Role.COORDINATOR, "nurse-wang"),
        ),
        201,
    )
    for number, day in enumerate((-12, -9, -6, -3), start=1):
        prepared = client.post(
            f"/v1/subjects/{sid}/dose-preparations",
            json={
                "infusion_number": number,
                "product_lot": "LOT-7",
                "first_infusion_on": _site_day(-12).isoformat(),
            },
            headers=_headers(auth, Role.PHARMACIST, "pharm-zhao"),
        )
        preparation = _ok(prepared, 201)
        _ok(
            client.post(
                f"/v1/dose-preparations/{preparation['id']}/verification",
                headers=_headers(
                    auth, Role.PHARMACIST, "pharm-liu", **{"If-Match": prepared.headers["ETag"]}
                ),
            )
        )
        _ok(
            client.post(
                f"/v1/subjects/{sid}/infusions",
                json={
                    "started_at": (datetime.now(UTC) + timedelta(days=day)).isoformat(),
                    "dose_given_cells": preparation["dose_cells"],
                    "product_lot": "LOT-7",
                },
                headers=_headers(auth, Role.PHARMACIST, "pharm-zhao"),
            ),
            201,
        )
    return sid


def test_a_confirmed_dlt_reaches_enrollment_and_changes_its_escalation_state(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    deliver_events: EventPump,
) -> None:
    with sessions("safety")() as session, session.begin():
        catalogue.store_dictionary(
            session,
            read_ctcae(shipped.workbook(), version="5.0"),
            source_file=WORKBOOK,
            source_sha256=catalogue.file_sha256(shipped.workbook()),
            replace=False,
            actor="test <fixture>",
        )
    enrollment, safety = api("enrollment"), api("safety")
    _ok(
        enrollment.post(
            "/v1/trials",
            json={"shipped_protocol": "hdmsc-rp-01"},
            headers=auth(Role.ADMIN, subject="admin"),
        ),
        201,
    )
    subject_id = _treat(enrollment, auth)
    assert deliver_events() > 0

    known = _ok(safety.get(f"/v1/subjects/{subject_id}", headers=auth(Role.MONITOR)))
    assert known["first_infusion_on"] == _site_day(-12).isoformat()
    day1 = date.fromisoformat(known["first_infusion_on"])
    _ok(
        safety.put(
            f"/v1/subjects/{subject_id}/baseline",
            json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
            headers={
                **_headers(auth, Role.INVESTIGATOR, "dr-li"),
                "If-Match": safety.get(
                    f"/v1/subjects/{subject_id}", headers=auth(Role.MONITOR)
                ).headers["ETag"],
            },
        )
    )
    assert _level_1(enrollment, auth)["dlts"] == 0

    ae = _ok(
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
            headers=_headers(auth, Role.INVESTIGATOR, "dr-li"),
        ),
        201,
    )
    assert ae["dlt_evaluation"] == "suspected_dlt"
    [dlt] = _ok(safety.get("/v1/dlts", params={"status": "suspected"}, headers=auth(Role.MONITOR)))
    assert dlt["study_day"] == 12
    etag = safety.get(f"/v1/dlts/{dlt['id']}", headers=auth(Role.MONITOR)).headers["ETag"]
    _ok(
        safety.post(
            f"/v1/dlts/{dlt['id']}/adjudication",
            json={"decision": "confirm"},
            headers=_headers(auth, Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
        )
    )
    assert deliver_events() > 0

    assert _level_1(enrollment, auth)["dlts"] == 1

    # The AE is corrected to grade 2 (a one-grade worsening): the confirmation is withdrawn and
    # enrollment, applying the highest adjudication sequence, no longer counts the DLT.
    current = safety.get(f"/v1/adverse-events/{ae['id']}", headers=auth(Role.MONITOR))
    _ok(
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
                **_headers(auth, Role.INVESTIGATOR, "dr-li"),
                "If-Match": current.headers["ETag"],
            },
        )
    )
    assert deliver_events() > 0
    assert _level_1(enrollment, auth)["dlts"] == 0


def _level_1(enrollment: TestClient, auth: TokenFactory) -> dict[str, Any]:
    state = _ok(enrollment.get(f"/v1/trials/{TRIAL}/escalation", headers=auth(Role.MONITOR)))
    level: dict[str, Any] = state["dose_levels"][0]
    assert level["dose_level"] == 1
    return level
