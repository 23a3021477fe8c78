"""DLT rules against the subject's window and baseline; signed adjudication; reopening on edits."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseline.audit import canonical_json
from doseline.auth import Role
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.contracts.protocol import ProtocolActivated
from doseline.testing import facts
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.manifest import SERVICE
from safety.protocols import service as protocols
from safety.protocols import tasks as protocol_tasks
from safety.subjects import tasks as subject_tasks

from .conftest import SHIPPED_PROTOCOL, Desk, ae_body, amended, site_today

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
    # PROTOCOL.md: pneumonitis is judged against the baseline only (DLT-04 of the protocol).
    assert dlt["matched_rules"] == ["DLT-04"]
    assert dlt["protocol_version"] == "1.0"
    assert dlt["protocol_hash"] == SHIPPED_PROTOCOL.content_hash
    [suspected] = _of_type(treated, "safety.dlt.suspected")
    assert suspected["adjudication_sequence"] == 1
    assert suspected["study_day"] == 12
    assert (suspected["rules"], suspected["protocol_version"]) == (["DLT-04"], "1.0")
    assert suspected["protocol_hash"] == SHIPPED_PROTOCOL.content_hash


def test_the_same_ae_with_onset_on_day_40_is_not_a_dlt(treated: Desk, day1: date) -> None:
    ae = treated.report(onset_date=_day(day1, 40), grade=3, attribution="possible")
    assert ae["dlt_evaluation"] == "not_dlt"
    assert _dlts(treated) == []
    assert _of_type(treated, "safety.dlt.suspected") == []
    [assessment] = treated.client.get(
        f"/v1/adverse-events/{ae['id']}/dlt-assessments", headers=treated.as_(Role.MONITOR)
    ).json()
    assert (assessment["study_day"], assessment["protocol_version"]) == (40, "1.0")
    assert assessment["protocol_hash"] == SHIPPED_PROTOCOL.content_hash
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


def _pneumonitis_rule(min_increase: int) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        for criterion in document["dlt_rules"]["criteria"]:
            if criterion["id"] == "DLT-04":
                criterion["min_increase_over_baseline"] = min_increase

    return edit


def _assessments(desk: Desk, ae_id: str) -> list[dict[str, Any]]:
    response = desk.client.get(
        f"/v1/adverse-events/{ae_id}/dlt-assessments", headers=desk.as_(Role.MONITOR)
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def test_an_ae_waits_for_the_protocol_and_is_assessed_when_its_rules_arrive(
    desk: Desk, day1: date
) -> None:
    other_trial = "HDMSC-RP-02"
    desk.deliver(
        SubjectEnrolled(
            trial_id=other_trial,
            subject_id="HDMSC-RP-02-001",
            site_id="WCH",
            cohort_number=1,
            dose_level=1,
            enrolled_at=datetime.now(UTC) - timedelta(days=60),
            protocol_version="1.0",
            site_time_zone="Asia/Shanghai",
        ),
        subject_tasks.on_subject_enrolled,
    )
    desk.deliver(
        facts.infused("HDMSC-RP-02-001", day1=day1, trial_id=other_trial),
        subject_tasks.on_infusion_administered,
    )
    ae = desk.report(subject_id="HDMSC-RP-02-001", onset_date=_day(day1, 12), grade=4)
    # Safety has no DLT rules of its own: without the trial's protocol the AE waits.
    assert ae["dlt_evaluation"] == "awaiting_protocol"
    assert _assessments(desk, ae["id"]) == []
    missing = desk.client.get(
        f"/v1/trials/{other_trial}/protocol-versions", headers=desk.as_(Role.MONITOR)
    )
    assert missing.status_code == 404
    protocol = amended(SHIPPED_PROTOCOL, "1.0", lambda d: d["protocol"].update(id=other_trial))
    envelope = ProtocolActivated(
        trial_id=other_trial,
        protocol_id=other_trial,
        protocol_version="1.0",
        content_hash=protocol.content_hash,
        sequence=1,
        activation="initial",
        effective_from=None,
        activated_at=datetime.now(UTC),
        rules=protocol.trial_rules(),
    )
    desk.deliver(envelope, protocol_tasks.on_protocol_activated)
    desk.deliver(envelope, protocol_tasks.on_protocol_activated)  # redelivered: stored once
    [assessment] = _assessments(desk, ae["id"])
    assert assessment["is_suspected_dlt"]
    assert assessment["matched_rules"] == ["DLT-04", "DLT-05"]  # no baseline recorded: from 0
    assert assessment["protocol_version"] == "1.0"
    versions = desk.client.get(
        f"/v1/trials/{other_trial}/protocol-versions", headers=desk.as_(Role.MONITOR)
    ).json()
    assert [(v["sequence"], v["protocol_version"]) for v in versions] == [(1, "1.0")]
    assert versions[0]["rules"]["dlt_rules"]["criteria"][3]["id"] == "DLT-04"


def test_an_amendment_judges_new_and_open_aes_by_its_rules_and_lists_adjudicated_ones(
    desk: Desk, day1: date
) -> None:
    for number, subject in enumerate(("HDMSC-RP-01-001", "HDMSC-RP-01-002", "HDMSC-RP-01-003")):
        desk.enrol(subject)
        desk.infuse(subject, day1=day1)
        desk.baseline(subject, 1)
        del number
    adjudicated = desk.report(subject_id="HDMSC-RP-01-001", onset_date=_day(day1, 12))
    open_ae = desk.report(subject_id="HDMSC-RP-01-002", onset_date=_day(day1, 12))
    [confirmed_case] = [d for d in _dlts(desk) if d["ae_id"] == adjudicated["id"]]
    signed = _adjudicate(desk, confirmed_case["id"], "confirm", auth_time=datetime.now(UTC))
    assert signed.status_code == 200, signed.text

    # Amendment 1.1: pneumonitis is a DLT only 3 grades over baseline (or at grade 4).
    stricter = amended(SHIPPED_PROTOCOL, "1.1", _pneumonitis_rule(3))
    desk.activate(stricter, sequence=2, effective_from=day1, reason="DSMB request")

    # The open suspicion is re-assessed under 1.1 and withdrawn.
    [open_case] = [d for d in _dlts(desk) if d["ae_id"] == open_ae["id"]]
    assert open_case["status"] == "withdrawn"
    latest = _assessments(desk, open_ae["id"])[-1]
    assert (latest["protocol_version"], latest["is_suspected_dlt"]) == ("1.1", False)
    # The signed adjudication is not changed; it is listed for review instead.
    [still] = [d for d in _dlts(desk) if d["ae_id"] == adjudicated["id"]]
    assert still["status"] == "confirmed"
    assert still["signatures"][0]["voided_at"] is None
    assert still["protocol_version"] == "1.0"
    [review] = desk.client.get(
        "/v1/trials/HDMSC-RP-01/dlt-reviews", headers=desk.as_(Role.SAFETY_PHYSICIAN)
    ).json()
    assert review["dlt_id"] == still["id"]
    assert (review["adjudication"], review["adjudicated_matched_rules"]) == (
        "confirmed",
        ["DLT-04"],
    )
    assert (review["protocol_version"], review["would_be_suspected"]) == ("1.1", False)
    assert review["would_match_rules"] == []
    # A new AE is judged by 1.1.
    new = desk.report(subject_id="HDMSC-RP-01-003", onset_date=_day(day1, 13))
    assert new["dlt_evaluation"] == "not_dlt"
    assert _assessments(desk, new["id"])[-1]["protocol_version"] == "1.1"
    # Version 1.0 delivered again (late, out of order) changes nothing: 1.1 stays in force.
    desk.activate(SHIPPED_PROTOCOL, sequence=1)
    assert (
        desk.report(subject_id="HDMSC-RP-01-003", onset_date=_day(day1, 14))["dlt_evaluation"]
        == "not_dlt"
    )
    assert (
        len(
            desk.client.get(
                "/v1/trials/HDMSC-RP-01/dlt-reviews", headers=desk.as_(Role.MONITOR)
            ).json()
        )
        == 1
    )


def test_an_amendment_effective_from_a_later_date_leaves_earlier_aes_to_the_old_version(
    treated: Desk, day1: date
) -> None:
    early = treated.report(onset_date=_day(day1, 5))
    looser = amended(SHIPPED_PROTOCOL, "1.1", _pneumonitis_rule(1))
    treated.activate(looser, sequence=2, effective_from=day1 + timedelta(days=9))
    # Onset before day 10: still version 1.0, not re-assessed.
    assert [a["protocol_version"] for a in _assessments(treated, early["id"])] == ["1.0"]
    before = treated.report(onset_date=_day(day1, 9), grade=2)
    after = treated.report(onset_date=_day(day1, 10), grade=2)
    assert (before["dlt_evaluation"], after["dlt_evaluation"]) == ("not_dlt", "suspected_dlt")
    assert _assessments(treated, after["id"])[-1]["matched_rules"] == ["DLT-04"]


def test_a_new_baseline_updates_an_open_suspicion_with_a_higher_sequence(
    treated: Desk, day1: date
) -> None:
    treated.report(onset_date=_day(day1, 12), grade=4)
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
    # Baseline 2 -> grade 4: two grades over baseline (DLT-04) and grade 4 (DLT-05).
    assert suspected[1]["rules"] == ["DLT-04", "DLT-05"]


def test_the_rules_in_force_are_each_versions_own_though_they_are_parsed_once_per_content(
    desk: Desk,
) -> None:
    """Parsed rules are kept per process by the digest of their text, never by a label: two
    trials whose versions carry the same content hash but different rules each get their own."""
    first = amended(SHIPPED_PROTOCOL, "1.0", lambda d: d["protocol"].update(id="HDMSC-RP-07"))

    def one_criterion_fewer(document: dict[str, Any]) -> None:
        document["protocol"]["id"] = "HDMSC-RP-08"
        document["dlt_rules"]["criteria"].pop()

    second = amended(SHIPPED_PROTOCOL, "1.0", one_criterion_fewer)
    for trial, protocol in (("HDMSC-RP-07", first), ("HDMSC-RP-08", second)):
        desk.deliver(
            ProtocolActivated(
                trial_id=trial,
                protocol_id=trial,
                protocol_version="1.0",
                content_hash=first.content_hash,
                sequence=1,
                activation="initial",
                effective_from=None,
                activated_at=datetime.now(UTC),
                rules=protocol.trial_rules(),
            ),
            protocol_tasks.on_protocol_activated,
        )
    with desk.db() as session:
        for _ in range(2):  # the second time from the parsed rules kept
            seven = protocols.rules_in_force(session, "HDMSC-RP-07", site_today())
            eight = protocols.rules_in_force(session, "HDMSC-RP-08", site_today())
            assert seven is not None
            assert eight is not None
            assert seven.rules == first.trial_rules()
            assert eight.rules == second.trial_rules()
            assert len(eight.rules.dlt_rules.criteria) == len(seven.rules.dlt_rules.criteria) - 1
