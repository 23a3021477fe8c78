"""DLT rules against the subject's window and baseline; signed adjudication; reopening on edits."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseline.audit import canonical_json
from doseline.auth import Role
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.manifest import SERVICE

from .conftest import Desk, ae_body, site_today

SUBJECT = "HDMSC-RP-01-001"


def _events(desk: Desk) -> list[dict[str, Any]]:
    outbox = SERVICE.schema.kit.outbox
    with desk.db() as session:
        return [row.envelope for row in session.execute(select(outbox).order_by(outbox.c.id)).all()]


def _of_type(desk: Desk, event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in _events(desk) if e["type"] == event_type]


def _day(day1: date, study_day: int) -> str:
    return (day1 + timedelta(days=study_day - 1)).isoformat()


@pytest.fixture
def day1() -> date:
    return site_today() - timedelta(days=45)


@pytest.fixture
def treated(desk: Desk, day1: date) -> Desk:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=day1)
    desk.baseline(SUBJECT, 1)
    return desk


def _dlts(desk: Desk, **params: str) -> list[dict[str, Any]]:
    response = desk.client.get("/v1/dlts", params=params, headers=desk.as_(Role.MONITOR))
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def _adjudicate(
    desk: Desk, dlt_id: str, decision: str, *, auth_time: datetime | None = None
) -> Any:
    etag = desk.client.get(f"/v1/dlts/{dlt_id}", headers=desk.as_(Role.MONITOR)).headers["ETag"]
    headers = desk.auth(
        Role.SAFETY_PHYSICIAN, subject="dr-chen", name="Dr Chen", auth_time=auth_time
    )
    return desk.client.post(
        f"/v1/dlts/{dlt_id}/adjudication",
        json={"decision": decision, "comment": "reviewed source documents"},
        headers={**headers, "If-Match": etag},
    )


def test_grade_3_pneumonitis_over_baseline_1_possibly_related_on_day_12_is_a_suspected_dlt(
    treated: Desk, day1: date
) -> None:
    ae = treated.report(onset_date=_day(day1, 12), grade=3, attribution="possible")
    assert ae["dlt_evaluation"] == "suspected_dlt"
    [dlt] = _dlts(treated, trial_id="HDMSC-RP-01")
    assert dlt["status"] == "suspected"
    assert dlt["study_day"] == 12
    assert dlt["baseline_grade"] == 1
    assert set(dlt["matched_rules"]) == {"non-haematological-grade", "worsening-over-baseline"}
    [suspected] = _of_type(treated, "safety.dlt.suspected")
    assert suspected["adjudication_sequence"] == 1
    assert suspected["study_day"] == 12


def test_the_same_ae_with_onset_on_day_40_is_not_a_dlt(treated: Desk, day1: date) -> None:
    ae = treated.report(onset_date=_day(day1, 40), grade=3, attribution="possible")
    assert ae["dlt_evaluation"] == "not_dlt"
    assert _dlts(treated) == []
    assert _of_type(treated, "safety.dlt.suspected") == []
    [assessment] = treated.client.get(
        f"/v1/adverse-events/{ae['id']}/dlt-assessments", headers=treated.as_(Role.MONITOR)
    ).json()
    assert (assessment["study_day"], assessment["rule_set_number"]) == (40, 1)
    assert any("outside the DLT window" in reason for reason in assessment["reasons"])


@pytest.mark.parametrize(
    ("grade", "attribution", "study_day", "suspected"),
    [
        (3, "possible", 30, True),  # last day of the window
        (3, "possible", 31, False),  # first day after it
        (3, "unlikely", 12, False),
        (3, "unrelated", 12, False),
        (3, "definite", 1, True),
        (2, "probable", 12, False),  # baseline 1 → 2 is a one-grade worsening
        (5, "possible", 12, True),
    ],
)
def test_the_dlt_rules_read_window_attribution_and_worsening_over_baseline(
    treated: Desk, day1: date, grade: int, attribution: str, study_day: int, suspected: bool
) -> None:
    overrides: dict[str, Any] = {}
    if grade == 5:
        overrides = {
            "outcome": "fatal",
            "seriousness": ["death"],
            "aware_at": datetime.now(UTC).isoformat(),
        }
    ae = treated.report(
        onset_date=_day(day1, study_day), grade=grade, attribution=attribution, **overrides
    )
    assert (ae["dlt_evaluation"] == "suspected_dlt") is suspected


def test_a_confirmation_is_signed_with_meaning_time_and_the_hash_of_the_signed_version(
    treated: Desk, day1: date
) -> None:
    ae = treated.report(onset_date=_day(day1, 12))
    [dlt] = _dlts(treated)
    confirmed = _adjudicate(treated, dlt["id"], "confirm", auth_time=datetime.now(UTC))
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "confirmed"
    [signature] = body["signatures"]
    assert signature["meaning"] == "I confirm this event is a dose-limiting toxicity"
    assert signature["signer"] == "dr-chen"
    assert signature["signer_name"] == "Dr Chen"
    with treated.db() as session:
        row = session.get(AdverseEventRow, __import__("uuid").UUID(ae["id"]))
        assert row is not None
        version = session.get(AdverseEventVersionRow, (row.id, 1))
        assert version is not None
        expected = hashlib.sha256(canonical_json(version.content(row)).encode()).hexdigest()
    assert signature["record_sha256"] == expected
    [event] = _of_type(treated, "safety.dlt.confirmed")
    assert event["signature_hash"] == expected
    assert event["adjudication_sequence"] == 2


def test_signing_needs_a_fresh_authentication_and_the_safety_physician_role(
    treated: Desk, day1: date
) -> None:
    treated.report(onset_date=_day(day1, 12))
    [dlt] = _dlts(treated)
    stale = _adjudicate(
        treated, dlt["id"], "confirm", auth_time=datetime.now(UTC) - timedelta(minutes=6)
    )
    assert stale.status_code == 401
    assert stale.json()["type"] == "/problems/reauthentication-required"
    etag = treated.client.get(f"/v1/dlts/{dlt['id']}", headers=treated.as_(Role.MONITOR)).headers[
        "ETag"
    ]
    investigator = treated.client.post(
        f"/v1/dlts/{dlt['id']}/adjudication",
        json={"decision": "confirm"},
        headers={**treated.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert investigator.status_code == 403
    assert _dlts(treated)[0]["status"] == "suspected"


def test_a_ruled_out_dlt_cannot_be_adjudicated_again(treated: Desk, day1: date) -> None:
    treated.report(onset_date=_day(day1, 12))
    [dlt] = _dlts(treated)
    assert _adjudicate(treated, dlt["id"], "rule_out", auth_time=datetime.now(UTC)).json()[
        "signatures"
    ][0]["meaning"] == ("I confirm this event is not a dose-limiting toxicity")
    again = _adjudicate(treated, dlt["id"], "confirm", auth_time=datetime.now(UTC))
    assert again.status_code == 409
    [ruled_out] = _of_type(treated, "safety.dlt.ruled_out")
    assert ruled_out["signature_hash"] is not None


def _follow_up(desk: Desk, ae_id: str, **changes: Any) -> dict[str, Any]:
    url = f"/v1/adverse-events/{ae_id}"
    etag = desk.client.get(url, headers=desk.as_(Role.MONITOR)).headers["ETag"]
    body = ae_body(reason_for_change="source data verification", **changes)
    del body["subject_id"]
    response = desk.client.post(
        f"{url}/follow-ups", json=body, headers={**desk.as_(Role.INVESTIGATOR), "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_editing_a_confirmed_dlt_so_it_no_longer_qualifies_voids_the_signature_and_rules_it_out(
    treated: Desk, day1: date
) -> None:
    ae = treated.report(onset_date=_day(day1, 12))
    [dlt] = _dlts(treated)
    _adjudicate(treated, dlt["id"], "confirm", auth_time=datetime.now(UTC))
    _follow_up(treated, ae["id"], onset_date=_day(day1, 12), grade=2)
    [after] = _dlts(treated)
    assert after["status"] == "withdrawn"
    assert after["signatures"][0]["voided_at"] is not None
    [ruled_out] = _of_type(treated, "safety.dlt.ruled_out")
    assert ruled_out["signature_hash"] is None
    assert ruled_out["adjudication_sequence"] == 3


def test_editing_a_confirmed_dlt_that_still_qualifies_reopens_it_as_suspected(
    treated: Desk, day1: date
) -> None:
    ae = treated.report(onset_date=_day(day1, 12))
    [dlt] = _dlts(treated)
    _adjudicate(treated, dlt["id"], "confirm", auth_time=datetime.now(UTC))
    _follow_up(treated, ae["id"], onset_date=_day(day1, 12), grade=4)
    [after] = _dlts(treated)
    assert after["status"] == "suspected"
    assert after["ae_version"] == 2
    sequences = [e["adjudication_sequence"] for e in _of_type(treated, "safety.dlt.suspected")]
    assert sequences == [1, 3]
    assert (
        _adjudicate(treated, dlt["id"], "confirm", auth_time=datetime.now(UTC)).json()[
            "adjudication_sequence"
        ]
        == 4
    )


def test_an_ae_reported_before_the_dlt_window_is_known_is_assessed_when_it_arrives(
    desk: Desk, day1: date
) -> None:
    desk.enrol(SUBJECT)
    desk.baseline(SUBJECT, 1)
    ae = desk.report(onset_date=_day(day1, 12))
    assert ae["dlt_evaluation"] == "awaiting_dlt_window"
    desk.infuse(SUBJECT, day1=day1, number=2)
    desk.infuse(SUBJECT, day1=day1, number=1)  # late and older: changes nothing
    [dlt] = _dlts(desk)
    assert dlt["study_day"] == 12
    assert len(_of_type(desk, "safety.dlt.suspected")) == 1


def test_dlt_rules_are_versioned_per_trial_and_each_assessment_records_its_version(
    treated: Desk, day1: date
) -> None:
    admin = treated.auth(Role.ADMIN, subject="admin")
    url = "/v1/trials/HDMSC-RP-01/dlt-rules"
    assert treated.client.get(url, headers=admin).status_code == 404
    treated.report(onset_date=_day(day1, 12))
    current = treated.client.get(url, headers=admin)
    assert current.json()["number"] == 1
    stricter = {**current.json()["rules"], "non_haematological_min_grade": 4}
    no_if_match = treated.client.put(
        url, json={"rules": stricter, "reason": "DSMB request"}, headers=admin
    )
    assert no_if_match.status_code == 428
    bad = treated.client.put(
        url,
        json={"rules": {"window_days": 0}, "reason": "typo"},
        headers={**admin, "If-Match": current.headers["ETag"]},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "rules", "window_days"]
    put = treated.client.put(
        url,
        json={"rules": stricter, "reason": "DSMB request"},
        headers={**admin, "If-Match": current.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["number"] == 2
    same = treated.client.put(
        url,
        json={"rules": stricter, "reason": "again"},
        headers={**admin, "If-Match": put.headers["ETag"]},
    )
    assert same.json()["number"] == 2
    refused = treated.client.put(
        url,
        json={"rules": stricter, "reason": "DSMB request"},
        headers={**treated.as_(Role.INVESTIGATOR), "If-Match": put.headers["ETag"]},
    )
    assert refused.status_code == 403
    # Grade 3 pneumonitis over baseline 1 still matches the worsening rule under version 2.
    ae = treated.report(onset_date=_day(day1, 13))
    assert ae["dlt_evaluation"] == "suspected_dlt"
    with treated.db() as session:
        from safety.adjudication.models import DltAssessmentRow

        versions = sorted(row.rule_set_number for row in session.scalars(select(DltAssessmentRow)))
    assert versions == [1, 2]


def test_a_new_baseline_updates_an_open_suspicion_with_a_higher_sequence(
    treated: Desk, day1: date
) -> None:
    treated.report(onset_date=_day(day1, 12))
    subject = treated.client.get(f"/v1/subjects/{SUBJECT}", headers=treated.as_(Role.MONITOR))
    changed = treated.client.put(
        f"/v1/subjects/{SUBJECT}/baseline",
        json={
            "pneumonitis_grade": 2,
            "oxygen_use": False,
            "conditions": [],
            "reason": "baseline CT re-read",
        },
        headers={**treated.as_(Role.INVESTIGATOR), "If-Match": subject.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    suspected = _of_type(treated, "safety.dlt.suspected")
    assert [(e["adjudication_sequence"], e["baseline_grade"]) for e in suspected] == [
        (1, 1),
        (2, 2),
    ]
    assert suspected[1]["rules"] == ["non-haematological-grade"]
