"""ICH E2B(R3) case safety reports through the API: an SAE is reported, its message is ready
(event in the outbox), a gateway fetches it and it validates against ICH's schemas; follow-ups
are new messages of the same case; removing the seriousness nullifies the case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from doseline.auth import Role
from doseline.testing.plugin import EventPump
from safety.manifest import SERVICE

from .conftest import Desk, ae_body, site_today
from .e2b import (
    CASE,
    PATIENT,
    REACTION,
    business_rule_errors,
    read_back,
    schema_errors,
    values,
)

SUBJECT = "HDMSC-RP-01-001"


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=11))
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=11), number=2)
    return desk


def _aware() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()


def _ready_events(desk: Desk) -> list[dict[str, Any]]:
    outbox = SERVICE.schema.kit.outbox
    with desk.db() as session:
        rows = session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "safety.icsr.ready")
            .order_by(outbox.c.id)
        ).all()
    return [row.envelope["data"] for row in rows]


def _fetch(desk: Desk, path: str, role: Role = Role.MONITOR) -> bytes:
    response = desk.client.get(path, headers=desk.as_(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return bytes(response.content)


def _follow_up(desk: Desk, ae_id: str, **overrides: Any) -> None:
    url = f"/v1/adverse-events/{ae_id}"
    etag = desk.client.get(url, headers=desk.as_(Role.MONITOR)).headers["ETag"]
    body = ae_body(**overrides)
    del body["subject_id"]
    response = desk.client.post(
        f"{url}/follow-ups", json=body, headers={**desk.as_(Role.INVESTIGATOR), "If-Match": etag}
    )
    assert response.status_code == 200, response.text


def _serious(desk: Desk) -> str:
    ae = desk.report(seriousness=["hospitalisation"], aware_at=_aware(), grade=3)
    return str(ae["id"])


def test_a_reported_sae_is_announced_and_its_message_validates_against_the_ich_schemas(
    enrolled: Desk,
) -> None:
    ae_id = _serious(enrolled)
    [ready] = _ready_events(enrolled)
    assert ready["ae_id"] == ae_id
    assert (ready["kind"], ready["message_number"], ready["ae_version"]) == ("initial", 1, 1)
    assert ready["site_id"] == "WCH"
    document = _fetch(enrolled, ready["href"])
    assert schema_errors(document) == []
    assert business_rule_errors(document) == []
    assert _fetch(enrolled, f"/v1/adverse-events/{ae_id}/icsr") == document
    # Study identifiers only: the subject's study id as investigation number, the name masked.
    assert values(document, f"{PATIENT}/hl7:player1/hl7:asIdentifiedEntity/hl7:id/@extension") == [
        SUBJECT
    ]
    assert values(document, f"{PATIENT}/hl7:player1/hl7:name/@nullFlavor") == ["MSK"]
    assert values(document, f"{CASE}/hl7:id/@extension") == [ready["safety_report_id"]] * 2
    assert values(document, f"{REACTION}/hl7:value/@code") == ["10035742"]
    hospitalised = (
        f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='33']"
        "/hl7:value/@value"
    )
    assert values(document, hospitalised) == ["true"]
    assert values(document, f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:title/text()") == [
        "HDMSC-RP-01 (protocol HDMSC-RP-01 version 1.0)"
    ]
    # What another E2B(R3) implementation reads from it is what safety holds.
    case = read_back(document)
    assert case["safety_report_id"] == ready["safety_report_id"]
    assert case["report_type"]["code"] == "2"
    [reaction] = case["reactions"]
    assert (reaction["meddra"]["code"], reaction["hospitalisation"]) == ("10035742", True)
    assert reaction["results_in_death"] == {"null_flavor": "NI"}
    assert case["patient"]["name"] == {"null_flavor": "MSK"}
    [drug] = case["drugs"]
    [related] = drug["relatedness"]
    assert related["reaction_id"] == reaction["id"]
    assert [a["result"] for a in related["assessments"]] == ["possible"]


def test_a_follow_up_is_a_new_message_of_the_same_case_and_the_first_is_unchanged(
    enrolled: Desk,
) -> None:
    ae_id = _serious(enrolled)
    first = _fetch(enrolled, f"/v1/adverse-events/{ae_id}/icsr/messages/1")
    _follow_up(
        enrolled,
        ae_id,
        seriousness=["hospitalisation", "life_threatening"],
        aware_at=_aware(),
        grade=4,
        reason_for_change="intubated on day 2",
    )
    initial, follow_up = _ready_events(enrolled)
    assert (follow_up["kind"], follow_up["message_number"], follow_up["ae_version"]) == (
        "follow_up",
        2,
        2,
    )
    assert follow_up["safety_report_id"] == initial["safety_report_id"]
    second = _fetch(enrolled, f"/v1/adverse-events/{ae_id}/icsr")
    assert schema_errors(second) == []
    assert business_rule_errors(second) == []
    assert _fetch(enrolled, f"/v1/adverse-events/{ae_id}/icsr/messages/1") == first
    creation = (
        "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:effectiveTime/@value"
    )
    assert values(second, creation) > values(first, creation)  # C.1.2: a later version
    assert "intubated on day 2" in values(second, f"{CASE}/hl7:text/text()")[0]
    listed = enrolled.client.get(
        f"/v1/adverse-events/{ae_id}/icsr/messages", headers=enrolled.as_(Role.SAFETY_PHYSICIAN)
    ).json()
    assert [(m["number"], m["kind"], m["ae_version"]) for m in listed] == [
        (1, "initial", 1),
        (2, "follow_up", 2),
    ]


def test_removing_every_seriousness_criterion_nullifies_the_case_with_the_reason(
    enrolled: Desk,
) -> None:
    ae_id = _serious(enrolled)
    _follow_up(
        enrolled,
        ae_id,
        seriousness=[],
        grade=2,
        reason_for_change="admission was for planned diagnostics, not the event",
    )
    initial, nullification = _ready_events(enrolled)
    assert nullification["kind"] == "nullification"
    assert nullification["safety_report_id"] == initial["safety_report_id"]
    document = _fetch(enrolled, f"/v1/adverse-events/{ae_id}/icsr")
    assert schema_errors(document) == []
    assert business_rule_errors(document) == []
    characteristic = f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic"
    assert values(document, f"{characteristic}[hl7:code/@code='3']/hl7:value/@code") == ["1"]
    [reason] = values(
        document, f"{characteristic}[hl7:code/@code='4']/hl7:value/hl7:originalText/text()"
    )
    assert "admission was for planned diagnostics" in reason
    nullified = read_back(document)
    assert (nullified["nullification_amendment"]["code"], nullified["nullification_reason"]) == (
        "1",
        reason,
    )
    # Serious again: a new case, since ICH never reuses a nullified safety report id.
    _follow_up(
        enrolled,
        ae_id,
        seriousness=["important_medical_event"],
        aware_at=_aware(),
        grade=3,
        reason_for_change="reassessed as medically important",
    )
    again = _ready_events(enrolled)[-1]
    assert (again["kind"], again["message_number"]) == ("initial", 3)
    assert again["safety_report_id"] == f"{initial['safety_report_id']}-2"
    assert schema_errors(_fetch(enrolled, again["href"])) == []


def test_an_ae_that_was_never_serious_has_no_report_and_says_so(enrolled: Desk) -> None:
    ae = enrolled.report(grade=2)
    for path in ("icsr", "icsr/messages", "icsr/messages/1"):
        response = enrolled.client.get(
            f"/v1/adverse-events/{ae['id']}/{path}", headers=enrolled.as_(Role.MONITOR)
        )
        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "/problems/not-serious"
    assert _ready_events(enrolled) == []
    # A follow-up that makes it serious starts the case.
    _follow_up(
        enrolled,
        str(ae["id"]),
        seriousness=["hospitalisation"],
        aware_at=_aware(),
        grade=3,
        reason_for_change="admitted overnight",
    )
    [ready] = _ready_events(enrolled)
    assert (ready["kind"], ready["message_number"], ready["ae_version"]) == ("initial", 1, 2)


def test_a_message_number_the_case_does_not_have_is_404(enrolled: Desk) -> None:
    ae_id = _serious(enrolled)
    response = enrolled.client.get(
        f"/v1/adverse-events/{ae_id}/icsr/messages/2", headers=enrolled.as_(Role.MONITOR)
    )
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/icsr-message-not-found"


def test_reports_are_read_as_the_adverse_event_is_by_role_and_site(enrolled: Desk) -> None:
    ae_id = _serious(enrolled)
    path = f"/v1/adverse-events/{ae_id}/icsr"
    for role in (Role.MONITOR, Role.SAFETY_PHYSICIAN, Role.INVESTIGATOR, Role.COORDINATOR):
        assert enrolled.client.get(path, headers=enrolled.as_(role)).status_code == 200
    other_site = enrolled.auth(Role.INVESTIGATOR, subject="dr-wang", sites=("PUMCH",))
    assert enrolled.client.get(path, headers=other_site).status_code == 404
    ehr = enrolled.client.get(path, headers=enrolled.as_(Role.EHR_INTEGRATION))
    assert ehr.status_code == 403
    assert enrolled.client.get(path).status_code == 401


def test_an_awareness_a_little_ahead_of_the_server_clock_is_not_after_the_report_date(
    enrolled: Desk,
) -> None:
    ahead = (datetime.now(UTC) + timedelta(minutes=3)).isoformat()
    ae = enrolled.report(seriousness=["hospitalisation"], aware_at=ahead, grade=3)
    document = _fetch(enrolled, f"/v1/adverse-events/{ae['id']}/icsr")
    assert business_rule_errors(document) == []
    assert values(document, f"{CASE}/hl7:effectiveTime/hl7:low/@value") == values(
        document, f"{CASE}/hl7:availabilityTime/@value"
    )


def test_a_gateway_finds_the_message_in_the_event_feed_and_fetches_it(
    enrolled: Desk, api: Callable[..., TestClient], deliver_events: EventPump
) -> None:
    ae_id = _serious(enrolled)
    assert deliver_events() > 0  # over the real broker, to notifications' event log
    gateway = enrolled.as_(Role.SAFETY_PHYSICIAN, person="sponsor-gateway")
    feed = api("notifications").get("/v1/events", params={"type": "safety.icsr.*"}, headers=gateway)
    assert feed.status_code == 200, feed.text
    [event] = feed.json()["items"]
    assert event["type"] == "safety.icsr.ready"
    assert event["data"]["ae_id"] == ae_id
    document = _fetch(enrolled, event["data"]["href"], Role.SAFETY_PHYSICIAN)
    assert schema_errors(document) == []
    assert read_back(document)["safety_report_id"] == event["data"]["safety_report_id"]
