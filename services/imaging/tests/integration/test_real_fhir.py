"""FHIR resources written by others — HL7's R4 examples, GECCO, T-CABS — posted as published.

Each file under tests/data/real/fhir (origin, licence and expected outcome in SOURCES.md) is
sent unmodified: alone as the request body, or inside a collection Bundle assembled here around
the files' own bytes (the Bundle's text is written around each file's content, which is not
re-serialised), so that a panel travels with its members and an Observation with its Patient.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from doseline.auth import Role
from imaging.assessments.models import AssessmentRow

from .conftest import SUBJECT, Desk

REAL = Path(__file__).resolve().parents[4] / "tests" / "data" / "real" / "fhir"
FHIR_JSON = "application/fhir+json"
TCABS_MRN = ("http://tcabs.example.org/patients", "TCABS-PAT-001")  # Patient-tcabs-patient-example


def raw(name: str) -> bytes:
    return (REAL / name).read_bytes()


def collection(*names: str) -> bytes:
    """A collection Bundle whose entries are the files' bytes, untouched."""
    entries = b",".join(b'{"resource":' + raw(name) + b"}" for name in names)
    return b'{"resourceType":"Bundle","type":"collection","entry":[' + entries + b"]}"


def post(desk: Desk, content: bytes, status: int) -> dict[str, Any]:
    response = desk.client.post(
        "/v1/fhir/Observation",
        content=content,
        headers={**desk.auth(Role.EHR_INTEGRATION), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def diagnostics(outcome: dict[str, Any]) -> str:
    assert outcome["resourceType"] == "OperationOutcome"
    text: str = outcome["issue"][0]["diagnostics"]
    return text


def recorded(desk: Desk) -> int:
    with desk.db() as session:
        return session.scalar(select(func.count()).select_from(AssessmentRow)) or 0


@pytest.fixture
def tcabs(desk: Desk) -> Desk:
    desk.enrol(hospital_ids=[TCABS_MRN])
    return desk


def test_t_cabs_fev1_with_its_patient_is_recorded_and_known_by_reference_afterwards(
    tcabs: Desk,
) -> None:
    answer = post(
        tcabs,
        collection(
            "t-cabs/Patient-tcabs-patient-example.json",
            "t-cabs/Observation-Example-FEV1-Doccla.json",
            "t-cabs/Observation-Example-FEV6-Doccla.json",
            "t-cabs/Observation-Example-FEV1-FEV6-Doccla.json",
        ),
        200,
    )
    assert answer["type"] == "batch-response"
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert statuses == ["200 OK", "201 Created", "200 OK", "200 OK"]
    assert "LOINC 65655-3" in diagnostics(answer["entry"][2]["response"]["outcome"])
    assert "LOINC 65658-7" in diagnostics(answer["entry"][3]["response"]["outcome"])
    fev1 = tcabs.client.get(answer["entry"][1]["response"]["location"], headers=tcabs.as_()).json()
    assert fev1["subject_id"] == SUBJECT
    assert fev1["kind"] == "pft"
    assert fev1["metrics"]["fev1_l"] == pytest.approx(2.8)
    # effectivePeriod 2024-01-15T09:15:00Z: its start.
    assert datetime.fromisoformat(fev1["performed_at"]) == datetime(2024, 1, 15, 9, 15, tzinfo=UTC)
    assert "sex (76689-9)" in fev1["results"]["reference_unavailable"]

    # The same file alone: its Patient/tcabs-patient-example was matched above.
    again = tcabs.client.post(
        "/v1/fhir/Observation",
        content=raw("t-cabs/Observation-Example-FEV1-Doccla.json"),
        headers={**tcabs.auth(Role.EHR_INTEGRATION), "Content-Type": FHIR_JSON},
    )
    assert again.status_code == 200, again.text
    assert again.headers["X-Intake-Action"] == "replayed"
    assert recorded(tcabs) == 1


def test_t_cabs_fev1_alone_from_an_unknown_patient_is_refused_saying_how_to_match_it(
    tcabs: Desk,
) -> None:
    outcome = post(tcabs, raw("t-cabs/Observation-Example-FEV1-Doccla.json"), 422)
    message = diagnostics(outcome)
    assert "Patient/tcabs-patient-example cannot be matched" in message
    assert "subject.identifier" in message


GECCO_PANEL = [
    "gecco/Patient-gecco-patient.json",
    "gecco/Observation-blood-gas-panel-arterial.json",
    "gecco/Observation-pH-arterial.json",
    "gecco/Observation-carbon-dioxide-partial-pressure.json",
    "gecco/Observation-oxygen-partial-pressure.json",
    "gecco/Observation-oxygen-saturation.json",
    "gecco/Observation-inhaled-oxygen-concentration.json",
]


def test_geccos_blood_gas_panel_is_read_with_its_members_and_refused_for_its_unnamed_patient(
    desk: Desk,
) -> None:
    desk.enrol()
    answer = post(desk, collection(*GECCO_PANEL), 200)
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert statuses == ["200 OK", "422 Unprocessable Entity", *["200 OK"] * 5]
    refusal = diagnostics(answer["entry"][1]["response"]["outcome"])
    assert "Patient/gecco-patient is a Patient without an identifier" in refusal
    for entry in answer["entry"][2:]:
        assert "a member of panel Observation/blood-gas-panel-arterial" in diagnostics(
            entry["response"]["outcome"]
        )
    assert recorded(desk) == 0


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("gecco/Observation-inhaled-oxygen-concentration.json", "LOINC 3150-0 is not an outcome"),
        (
            "gecco/Observation-blood-gas-panel-arterial.json",
            "Patient/gecco-patient cannot be matched",
        ),
        ("hl7-r4/observation-example-f002-excess.json", "LOINC 11555-0 is not an outcome"),
        ("hl7-r4/observation-example-satO2.json", "LOINC 2708-6 is not an outcome"),
        ("hl7-r4/observation-example-bgpanel.json", "LOINC 34532-2 is not an outcome"),
    ],
)
def test_a_single_observation_that_cannot_be_used_is_a_422_operation_outcome(
    desk: Desk, name: str, fragment: str
) -> None:
    desk.enrol()
    outcome = post(desk, raw(name), 422)
    assert fragment in diagnostics(outcome)
    assert outcome["issue"][0]["severity"] == "error"
    assert recorded(desk) == 0


def test_hl7s_transaction_example_is_answered_entry_by_entry_and_records_nothing(
    desk: Desk,
) -> None:
    desk.enrol()
    answer = post(desk, raw("hl7-r4/bundle-transaction.json"), 200)
    bundle = json.loads(raw("hl7-r4/bundle-transaction.json"))
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(bundle["entry"]) == 10
    reasons = [diagnostics(entry["response"]["outcome"]) for entry in answer["entry"]]
    assert reasons.count("Patient: used to match the subjects of this Bundle") == 5
    assert reasons.count("the entry carries no resource (a request without a body)") == 4
    assert "Parameters is not an Observation" in reasons
    assert {entry["response"]["status"] for entry in answer["entry"]} == {"200 OK"}
    assert recorded(desk) == 0
