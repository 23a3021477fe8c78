"""FHIR as EHRs send it: Bundles entry by entry, panels through hasMember, Patients by reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from doseline.auth import Role

from .conftest import SUBJECT, Desk

LOINC = "http://loinc.org"
MRN = "urn:oid:1.2.156.112604.1.2.1"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol(hospital_ids=[(MRN, "0012345")])
    desk.treat()
    return desk


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def single(identifier: str, code: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": identifier,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-03T09:30:00+08:00",
        "valueQuantity": quantity(value, unit),
    }
    return resource | extra


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": MRN, "value": "0012345"}],
}


def gas_panel(members: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "abg-panel",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24336-0"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-03",
        "hasMember": [{"reference": reference} for reference in members],
    } | extra


GAS_MEMBERS = [
    single("ph", "2744-1", 7.40, "[pH]"),
    single("paco2", "2019-8", 40, "mm[Hg]"),
    single("pao2", "2703-7", 80 / 7.50062, "kPa"),
    single("fio2", "3150-0", 21, "%"),
]


def bundle(kind: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


def post(desk: Desk, body: dict[str, Any], status: int, media: str = FHIR_JSON) -> dict[str, Any]:
    response = desk.client.post(
        "/v1/fhir/Observation",
        content=json.dumps(body),
        headers={**desk.auth(Role.EHR_INTEGRATION), "Content-Type": media},
    )
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def statuses(answer: dict[str, Any]) -> list[str]:
    return [entry["response"]["status"] for entry in answer["entry"]]


def diagnostics(entry: dict[str, Any]) -> str:
    text: str = entry["response"]["outcome"]["issue"][0]["diagnostics"]
    return text


def test_a_blood_gas_panel_whose_members_carry_fio2_is_recorded_once(enrolled: Desk) -> None:
    answer = post(
        enrolled,
        bundle(
            "batch",
            PATIENT,
            gas_panel([f"Observation/{m['id']}" for m in GAS_MEMBERS]),
            *GAS_MEMBERS,
        ),
        200,
    )
    assert answer["type"] == "batch-response"
    assert statuses(answer) == ["200 OK", "201 Created", *["200 OK"] * 4]
    assert "used to match the subjects" in diagnostics(answer["entry"][0])
    assert all("a member of panel" in diagnostics(e) for e in answer["entry"][2:])
    assessment = enrolled.client.get(
        answer["entry"][1]["response"]["location"], headers=enrolled.as_()
    ).json()
    assert assessment["kind"] == "blood_gas"
    assert assessment["results"]["aa_gradient_mmhg"] == pytest.approx(19.73, abs=5e-3)
    # A date alone is the site's calendar day, placed at noon in Asia/Shanghai.
    assert assessment["performed_on"] == "2026-01-03"
    assert datetime.fromisoformat(assessment["performed_at"]) == datetime(2026, 1, 3, 4, tzinfo=UTC)


def test_a_transaction_is_answered_with_a_transaction_response_entry_by_entry(
    enrolled: Desk,
) -> None:
    unusable = single("fev1-gallons", "20150-9", 2.5, "gallons")
    answer = post(
        enrolled,
        bundle("transaction", PATIENT, single("fev1", "20150-9", 2.5, "L"), unusable),
        200,
    )
    assert answer["type"] == "transaction-response"
    assert statuses(answer) == ["200 OK", "201 Created", "422 Unprocessable Entity"]
    refused = answer["entry"][2]["response"]["outcome"]
    assert refused["resourceType"] == "OperationOutcome"
    assert refused["issue"][0]["severity"] == "error"
    assert "gallons" in refused["issue"][0]["diagnostics"]


def test_a_patient_matched_once_is_known_by_its_reference_afterwards(enrolled: Desk) -> None:
    post(enrolled, bundle("collection", PATIENT, single("fvc-1", "19868-9", 3.2, "L")), 200)
    alone = post(enrolled, single("fvc-2", "19868-9", 3.3, "L"), 201)
    assert alone["subject_id"] == SUBJECT
    assert alone["metrics"]["fvc_l"] == pytest.approx(3.3)


def test_an_unmatched_patient_reference_is_a_4xx_operation_outcome(enrolled: Desk) -> None:
    outcome = post(enrolled, single("fev1-x", "20150-9", 2.5, "L"), 422)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Patient/p1 cannot be matched" in outcome["issue"][0]["diagnostics"]
    problem = post(enrolled, single("fev1-x", "20150-9", 2.5, "L"), 422, media="application/json")
    assert problem["type"] == "/problems/unusable-observation"


def test_panel_members_may_be_contained(enrolled: Desk) -> None:
    members = [m | {"id": m["id"]} for m in GAS_MEMBERS]
    panel = gas_panel([f"#{m['id']}" for m in members], contained=members)
    answer = post(enrolled, bundle("batch", PATIENT, panel), 200)
    assert statuses(answer) == ["200 OK", "201 Created"]


def test_a_panel_whose_members_are_missing_is_refused_naming_them(enrolled: Desk) -> None:
    answer = post(enrolled, bundle("batch", PATIENT, gas_panel(["Observation/ph"])), 200)
    assert statuses(answer) == ["200 OK", "422 Unprocessable Entity"]
    assert "member Observation/ph" in diagnostics(answer["entry"][1])


@pytest.mark.parametrize(
    ("observation", "metric", "expected"),
    [
        (single("fev1-pp", "20152-5", 54, "%"), "fev1_percent_predicted_reported", 54.0),
        (single("fvc-pp", "19872-1", 61, "%"), "fvc_percent_predicted_reported", 61.0),
        (single("ratio", "19926-5", 83.3, "%"), "fev1_fvc", 0.833),
        (single("dlco", "19911-7", 19.4, "mL/min/mm[Hg]"), "dlco", 19.4),
        (single("fev1-post", "20155-8", 2.02, "L"), "fev1_l", 2.02),
    ],
)
def test_single_spirometry_observations_are_recorded(
    enrolled: Desk, observation: dict[str, Any], metric: str, expected: float
) -> None:
    answer = post(enrolled, bundle("searchset", PATIENT, observation), 200)
    assert statuses(answer) == ["200 OK", "201 Created"]
    assessment = enrolled.client.get(
        answer["entry"][1]["response"]["location"], headers=enrolled.as_()
    ).json()
    assert assessment["kind"] == "pft"
    assert assessment["metrics"][metric] == pytest.approx(expected)


def test_an_effective_period_is_placed_at_its_start(enrolled: Desk) -> None:
    observation = single("fev1-period", "20150-9", 2.8, "L")
    del observation["effectiveDateTime"]
    observation["effectivePeriod"] = {
        "start": "2026-01-03T09:15:00Z",
        "end": "2026-01-03T09:20:00Z",
    }
    answer = post(enrolled, bundle("batch", PATIENT, observation), 200)
    location = answer["entry"][1]["response"]["location"]
    assessment = enrolled.client.get(location, headers=enrolled.as_()).json()
    assert datetime.fromisoformat(assessment["performed_at"]) == datetime(
        2026, 1, 3, 9, 15, tzinfo=UTC
    )


def test_entries_that_are_not_outcomes_are_skipped_with_their_reason(enrolled: Desk) -> None:
    heart_rate = single("hr", "8867-4", 72, "/min")
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}
    answer = post(enrolled, bundle("collection", PATIENT, heart_rate, condition), 200)
    assert statuses(answer) == ["200 OK", "200 OK", "200 OK"]
    assert "LOINC 8867-4 is not an outcome" in diagnostics(answer["entry"][1])
    assert "Condition is not an Observation" in diagnostics(answer["entry"][2])
    assert all(
        e["response"]["outcome"]["issue"][0]["severity"] == "information" for e in answer["entry"]
    )


def test_a_bundle_type_that_is_not_read_is_refused(enrolled: Desk) -> None:
    outcome = post(enrolled, bundle("document", PATIENT), 422)
    assert "Bundle.type 'document'" in outcome["issue"][0]["diagnostics"]


def test_the_same_bundle_twice_records_nothing_new(enrolled: Desk) -> None:
    payload = bundle(
        "batch", PATIENT, gas_panel([f"Observation/{m['id']}" for m in GAS_MEMBERS]), *GAS_MEMBERS
    )
    post(enrolled, payload, 200)
    again = post(enrolled, payload, 200)
    assert statuses(again)[1] == "200 OK"
    assert diagnostics(again["entry"][1]).startswith("replayed")
