"""A protocol amendment changes the pneumonitis DLT rule, and safety applies it: over HTTP and
the real broker.

The DLT rules are read from the shipped protocol document, the one place they are written.
Enrollment creates HDMSC-RP-01 from it and publishes `enrollment.protocol.activated`; safety
applies those rules. Three subjects, each with baseline pneumonitis grade 1, worsen to grade 3
(two grades over baseline: DLT-04, a suspected DLT under version 1.0). One suspicion is
confirmed with a signature, one is left open. The protocol is amended through the enrollment
API (version 1.1: pneumonitis is a DLT only three grades over baseline, or at grade 4). Safety
then applies 1.1 to a new AE (not a DLT), re-assesses the open one (withdrawn), and lists the
signed one for a safety physician's review without changing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.contracts.protocol import DltRules
from doseline.testing.enrollment_api import ok, site_day, staff_headers, treat
from doseline.testing.plugin import EventPump, TokenFactory
from safety.catalogue import service as catalogue
from safety.dictionary import shipped

TRIAL = "HDMSC-RP-01"
PNEUMONITIS = "10035742"
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "services" / "enrollment" / "protocols" / "hdmsc-rp-01.yaml"


def _baseline(safety: TestClient, auth: TokenFactory, subject_id: str, grade: int) -> None:
    etag = safety.get(f"/v1/subjects/{subject_id}", headers=auth(Role.MONITOR)).headers["ETag"]
    ok(
        safety.put(
            f"/v1/subjects/{subject_id}/baseline",
            json={"pneumonitis_grade": grade, "oxygen_use": False, "conditions": []},
            headers={**staff_headers(auth, Role.INVESTIGATOR, "dr-li"), "If-Match": etag},
        )
    )


def _pneumonitis(
    safety: TestClient, auth: TokenFactory, subject_id: str, onset: date, grade: int
) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        safety.post(
            "/v1/adverse-events",
            json={
                "subject_id": subject_id,
                "term_code": PNEUMONITIS,
                "verbatim": "radiation pneumonitis worse, oxygen started",
                "onset_date": onset.isoformat(),
                "grade": grade,
                "attribution": "possible",
                "action_taken": "dose_not_changed",
                "outcome": "not_recovered_not_resolved",
            },
            headers=staff_headers(auth, Role.INVESTIGATOR, "dr-li"),
        ),
        201,
    )
    return body


def _case_of(safety: TestClient, auth: TokenFactory, ae_id: str) -> dict[str, Any]:
    [case] = [
        dlt
        for dlt in ok(
            safety.get("/v1/dlts", params={"trial_id": TRIAL}, headers=auth(Role.MONITOR))
        )
        if dlt["ae_id"] == ae_id
    ]
    return dict(case)


def _latest_assessment(safety: TestClient, auth: TokenFactory, ae_id: str) -> dict[str, Any]:
    assessments = ok(
        safety.get(f"/v1/adverse-events/{ae_id}/dlt-assessments", headers=auth(Role.MONITOR))
    )
    return dict(assessments[-1])


def test_an_amended_pneumonitis_rule_reaches_safety_and_is_applied_new_open_and_adjudicated(
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
    admin = auth(Role.ADMIN, subject="admin")

    # The DLT rules of the shipped protocol: pneumonitis is judged against its baseline only.
    document_text = SHIPPED.read_text(encoding="utf-8")
    shipped_rules = yaml.safe_load(document_text)["dlt_rules"]
    criteria = {criterion["id"]: criterion for criterion in shipped_rules["criteria"]}
    assert criteria["DLT-04"]["terms"][0]["meddra_code"] == PNEUMONITIS
    assert criteria["DLT-04"]["min_increase_over_baseline"] == 2
    assert criteria["DLT-01"]["except_terms"][0]["meddra_code"] == PNEUMONITIS

    trial = ok(
        enrollment.post("/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=admin), 201
    )
    day1_offset = -10
    subjects = [
        treat(
            enrollment,
            auth,
            day1_offset=day1_offset,
            infusions=1,
            age=61,
            weight_kg="58.0",
            product_lot="LOT-9",
        )
        for _ in range(3)
    ]
    assert deliver_events() > 0

    # Safety received version 1.0 with exactly the document's DLT rules.
    [initial] = ok(safety.get(f"/v1/trials/{TRIAL}/protocol-versions", headers=auth(Role.MONITOR)))
    assert (initial["protocol_version"], initial["content_hash"]) == (
        "1.0",
        trial["protocol"]["content_hash"],
    )
    assert initial["rules"]["dlt_rules"] == DltRules.model_validate(shipped_rules).model_dump(
        mode="json"
    )

    day1 = site_day(day1_offset)
    for subject_id in subjects:
        _baseline(safety, auth, subject_id, 1)
    signed_ae = _pneumonitis(safety, auth, subjects[0], day1 + timedelta(days=3), grade=3)
    open_ae = _pneumonitis(safety, auth, subjects[1], day1 + timedelta(days=4), grade=3)
    assert (signed_ae["dlt_evaluation"], open_ae["dlt_evaluation"]) == (
        "suspected_dlt",
        "suspected_dlt",
    )
    signed_case = _case_of(safety, auth, signed_ae["id"])
    assert (signed_case["matched_rules"], signed_case["protocol_version"]) == (["DLT-04"], "1.0")
    etag = safety.get(f"/v1/dlts/{signed_case['id']}", headers=auth(Role.MONITOR)).headers["ETag"]
    ok(
        safety.post(
            f"/v1/dlts/{signed_case['id']}/adjudication",
            json={"decision": "confirm", "comment": "source documents reviewed"},
            headers=staff_headers(auth, Role.SAFETY_PHYSICIAN, "dr-chen", **{"If-Match": etag}),
        )
    )
    assert deliver_events() > 0

    # Amendment 1.1 through the enrollment API: pneumonitis three grades over baseline.
    amended_text = document_text.replace('  version: "1.0"', '  version: "1.1"', 1).replace(
        "      min_increase_over_baseline: 2", "      min_increase_over_baseline: 3", 1
    )
    assert amended_text.count("min_increase_over_baseline: 3") == 1
    current = enrollment.get(f"/v1/trials/{TRIAL}", headers=admin)
    amended = ok(
        enrollment.put(
            f"/v1/trials/{TRIAL}/protocol",
            json={
                "protocol_yaml": amended_text,
                "reason": "DSMB: pneumonitis DLT only three grades over baseline",
                "effective_from": day1.isoformat(),
            },
            headers={**admin, "If-Match": current.headers["ETag"]},
        )
    )
    assert amended["protocol"]["version"] == "1.1"
    assert deliver_events() > 0

    versions = ok(safety.get(f"/v1/trials/{TRIAL}/protocol-versions", headers=auth(Role.MONITOR)))
    assert [(v["protocol_version"], v["activation"]) for v in versions] == [
        ("1.0", "initial"),
        ("1.1", "amendment"),
    ]
    assert versions[1]["content_hash"] == amended["protocol"]["content_hash"]
    assert versions[1]["effective_from"] == day1.isoformat()

    # The open suspicion is re-assessed under 1.1: no longer a DLT, withdrawn.
    reassessed = _latest_assessment(safety, auth, open_ae["id"])
    assert (reassessed["protocol_version"], reassessed["is_suspected_dlt"]) == ("1.1", False)
    assert reassessed["protocol_hash"] == amended["protocol"]["content_hash"]
    assert _case_of(safety, auth, open_ae["id"])["status"] == "withdrawn"

    # The signed confirmation is not changed: it is listed for the safety physician.
    still = _case_of(safety, auth, signed_ae["id"])
    assert (still["status"], still["protocol_version"]) == ("confirmed", "1.0")
    assert [s["voided_at"] for s in still["signatures"]] == [None]
    [review] = ok(
        safety.get(f"/v1/trials/{TRIAL}/dlt-reviews", headers=auth(Role.SAFETY_PHYSICIAN))
    )
    assert (review["dlt_id"], review["adjudication"]) == (still["id"], "confirmed")
    assert (review["protocol_version"], review["would_be_suspected"]) == ("1.1", False)
    assert (review["adjudicated_matched_rules"], review["would_match_rules"]) == (["DLT-04"], [])

    # A new AE is judged by 1.1: grade 3 over baseline 1 is no longer a DLT.
    new_ae = _pneumonitis(safety, auth, subjects[2], day1 + timedelta(days=5), grade=3)
    assert new_ae["dlt_evaluation"] == "not_dlt"
    assessment = _latest_assessment(safety, auth, new_ae["id"])
    assert (assessment["protocol_version"], assessment["matched_rules"]) == ("1.1", [])
    assert any("DLT-04" in reason and "+3" in reason for reason in assessment["reasons"])
    # ... while grade 4 is (three grades over baseline under 1.1, and grade 4: DLT-05).
    worse = _pneumonitis(safety, auth, subjects[2], day1 + timedelta(days=6), grade=4)
    assert worse["dlt_evaluation"] == "suspected_dlt"
    assert _latest_assessment(safety, auth, worse["id"])["matched_rules"] == ["DLT-04", "DLT-05"]

    # Enrollment still counts the signed DLT: the amendment did not undo it.
    assert deliver_events() > 0
    state = ok(enrollment.get(f"/v1/trials/{TRIAL}/escalation", headers=auth(Role.MONITOR)))
    assert state["dose_levels"][0]["dlts"] == 1
