"""FHIR lab intake: matching, grading, proposals, dedupe, corrections, per-entry outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from doseline import audit
from doseline.auth import Role
from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY, hospital_id_hash
from safety.ehr.models import ProposedAdverseEventRow

from .conftest import Desk, site_today

SUBJECT = "HDMSC-RP-01-001"
MRN_SYSTEM = "urn:oid:1.2.156.112604.1.2.1"
MRN = "MRN-0042"
STUDY_SYSTEM = "urn:doseline:study-subject-id"
ANC = "751-8"
POTASSIUM = "2823-3"


def observation(
    observation_id: str = "obs-1",
    *,
    version: str = "1",
    status: str = "final",
    code: str = ANC,
    value: float = 0.8,
    unit: str = "10*9/L",
    low: float | None = 1.8,
    high: float | None = 7.5,
    system: str = STUDY_SYSTEM,
    identifier: str = SUBJECT,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": version},
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"identifier": {"system": system, "value": identifier}},
        "effectiveDateTime": f"{(site_today() - timedelta(days=1)).isoformat()}T08:30:00+08:00",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"},
    }
    if low is not None or high is not None:
        resource["referenceRange"] = [
            {
                **({"low": {"value": low, "unit": unit}} if low is not None else {}),
                **({"high": {"value": high, "unit": unit}} if high is not None else {}),
            }
        ]
    return resource


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": r} for r in resources],
    }


@pytest.fixture
def lab(desk: Desk) -> Desk:
    desk.enrol(
        SUBJECT,
        hashes=[hospital_id_hash(DEVELOPMENT_IDENTIFIER_KEY, system=MRN_SYSTEM, value=MRN)],
    )
    return desk


def post(desk: Desk, payload: Any, *, media: str = "application/fhir+json") -> Any:
    import json

    response = desk.client.post(
        "/v1/fhir/Observation",
        content=json.dumps(payload),
        headers={**desk.auth(Role.EHR_INTEGRATION, subject="his"), "Content-Type": media},
    )
    return response


def outcomes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["outcome"] for entry in response.json()["entries"]]


def test_a_grade_3_neutrophil_count_proposes_an_ae_for_the_subject(lab: Desk) -> None:
    response = post(lab, observation())
    [entry] = response.json()["entries"]
    assert entry["outcome"] == "proposed"
    assert entry["term"] == "Neutrophil count decreased"
    assert entry["grade"] == 3
    proposals = lab.client.get(
        "/v1/proposed-adverse-events", params={"status": "proposed"}, headers=lab.as_(Role.MONITOR)
    ).json()
    assert [(p["subject_id"], p["proposed_grade"]) for p in proposals] == [(SUBJECT, 3)]


def test_the_subject_is_matched_through_the_keyed_hash_of_a_hospital_identifier(
    lab: Desk,
) -> None:
    response = post(lab, observation(system=MRN_SYSTEM, identifier=" mrn-0042 "))
    assert outcomes(response) == ["proposed"]


def test_a_normal_value_is_graded_and_proposes_nothing(lab: Desk) -> None:
    assert outcomes(post(lab, observation(value=3.1))) == ["graded"]


def test_potassium_is_graded_as_hyper_or_hypokalemia_by_its_value(lab: Desk) -> None:
    response = post(
        lab,
        bundle(
            observation("k-high", code=POTASSIUM, value=6.5, unit="mmol/L", low=3.5, high=5.1),
            observation("k-low", code=POTASSIUM, value=2.4, unit="mmol/L", low=3.5, high=5.1),
        ),
    )
    terms = [(e["term"], e["grade"]) for e in response.json()["entries"]]
    assert terms == [("Hyperkalemia", 3), ("Hypokalemia", 4)]


def test_the_same_observation_version_twice_creates_nothing(lab: Desk) -> None:
    assert outcomes(post(lab, bundle(observation(), observation("obs-2")))) == [
        "proposed",
        "proposed",
    ]
    assert outcomes(post(lab, bundle(observation(), observation("obs-2")))) == [
        "duplicate",
        "duplicate",
    ]
    with lab.db() as session:
        assert session.scalar(select(func.count()).select_from(ProposedAdverseEventRow)) == 2


def test_a_corrected_result_updates_the_earlier_proposal(lab: Desk) -> None:
    post(lab, observation(value=0.8))
    corrected = post(lab, observation(version="2", status="corrected", value=0.4))
    [entry] = corrected.json()["entries"]
    assert (entry["outcome"], entry["grade"]) == ("updated", 4)
    late_original = post(lab, observation(version="1", value=0.8))
    assert outcomes(late_original) == ["duplicate"]
    normal = post(lab, observation(version="3", status="amended", value=2.5))
    assert outcomes(normal) == ["withdrawn"]
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert (proposal["status"], proposal["observation_version_id"]) == ("withdrawn", "3")


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (observation(identifier="HDMSC-RP-01-404"), "no enrolled subject"),
        (observation(system=MRN_SYSTEM, identifier="MRN-9999"), "no enrolled subject"),
        (observation(code="12345-6"), "no CTCAE lab term"),
        (observation(unit="mg/dL"), "cannot be graded"),
        (observation(unit="x" * 41), "longer than 40"),
        (observation(value=1e300), "out of range"),
        ({**observation(), "meta": {}}, "versionId"),
        ({**observation(), "id": None}, "Observation.id"),
        ({**observation(), "status": "nonsense"}, "not a valid FHIR R4 Observation"),
        ({"resourceType": "Patient", "id": "p1"}, "not a FHIR Observation"),
        ({k: v for k, v in observation().items() if k != "valueQuantity"}, "valueQuantity"),
        ({k: v for k, v in observation().items() if k != "subject"}, "subject.identifier"),
    ],
)
def test_an_unusable_entry_is_rejected_with_its_reason_and_the_others_still_count(
    lab: Desk, resource: dict[str, Any], words: str
) -> None:
    response = post(lab, bundle(resource, observation("good")))
    first, second = response.json()["entries"]
    assert first["outcome"] == "rejected"
    assert words in first["detail"], first
    assert second["outcome"] == "proposed"


@pytest.mark.parametrize(
    ("payload", "media", "status"),
    [
        ("[]", "application/fhir+json", 422),
        ({"resourceType": "Patient"}, "application/json", 422),
        ({"resourceType": "Bundle", "entry": "x"}, "application/json", 422),
        (observation(), "text/plain", 415),
    ],
)
def test_a_request_that_is_not_an_observation_or_bundle_is_a_problem(
    lab: Desk, payload: Any, media: str, status: int
) -> None:
    response = post(lab, payload, media=media)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_400(lab: Desk) -> None:
    response = lab.client.post(
        "/v1/fhir/Observation",
        content=b"{not json",
        headers={**lab.auth(Role.EHR_INTEGRATION), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 400


def test_only_the_ehr_integration_client_posts_results(lab: Desk) -> None:
    response = lab.client.post(
        "/v1/fhir/Observation", json=observation(), headers=lab.as_(Role.INVESTIGATOR)
    )
    assert response.status_code == 403


def _proposal(desk: Desk) -> tuple[str, str]:
    [proposal] = desk.client.get(
        "/v1/proposed-adverse-events", headers=desk.as_(Role.MONITOR)
    ).json()
    etag = desk.client.get(
        f"/v1/proposed-adverse-events/{proposal['id']}", headers=desk.as_(Role.MONITOR)
    ).headers["ETag"]
    return proposal["id"], etag


ACCEPTANCE = {
    "attribution": "possible",
    "action_taken": "dose_not_changed",
    "outcome": "recovering_resolving",
}


def test_accepting_a_proposal_reports_the_ae_with_the_proposed_grade_beside_the_chosen_one(
    lab: Desk,
) -> None:
    post(lab, observation(value=0.8))
    proposal_id, etag = _proposal(lab)
    accepted = lab.client.post(
        f"/v1/proposed-adverse-events/{proposal_id}/acceptance",
        json={**ACCEPTANCE, "grade": 2},
        headers={**lab.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert accepted.status_code == 200, accepted.text
    ae_id = accepted.json()["ae_id"]
    ae = lab.client.get(f"/v1/adverse-events/{ae_id}", headers=lab.as_(Role.MONITOR)).json()
    assert (ae["source"], ae["current"]["grade"], ae["current"]["proposed_grade"]) == ("ehr", 2, 3)
    disagreements = lab.client.get(
        "/v1/trials/HDMSC-RP-01/grade-disagreements", headers=lab.as_(Role.MONITOR)
    ).json()
    assert [(d["ae_id"], d["grade"], d["proposed_grade"]) for d in disagreements] == [(ae_id, 2, 3)]
    again = lab.client.post(
        f"/v1/proposed-adverse-events/{proposal_id}/acceptance",
        json=ACCEPTANCE,
        headers={**lab.as_(Role.INVESTIGATOR), "If-Match": accepted.headers["ETag"]},
    )
    assert again.status_code == 409


def test_a_correction_after_acceptance_reopens_the_proposal_and_accepting_follows_up_the_ae(
    lab: Desk,
) -> None:
    post(lab, observation(value=0.8))
    proposal_id, etag = _proposal(lab)
    first = lab.client.post(
        f"/v1/proposed-adverse-events/{proposal_id}/acceptance",
        json=ACCEPTANCE,
        headers={**lab.as_(Role.INVESTIGATOR), "If-Match": etag},
    ).json()
    assert outcomes(post(lab, observation(version="2", status="corrected", value=0.3))) == [
        "updated"
    ]
    proposal_id, etag = _proposal(lab)
    second = lab.client.post(
        f"/v1/proposed-adverse-events/{proposal_id}/acceptance",
        json=ACCEPTANCE,
        headers={**lab.as_(Role.INVESTIGATOR), "If-Match": etag},
    ).json()
    assert second["ae_id"] == first["ae_id"]
    ae = lab.client.get(
        f"/v1/adverse-events/{first['ae_id']}", headers=lab.as_(Role.MONITOR)
    ).json()
    assert [(v["number"], v["grade"]) for v in ae["versions"]] == [(1, 3), (2, 4)]
    assert "corrected laboratory result" in ae["versions"][1]["reason_for_change"]


def test_rejecting_a_proposal_needs_a_reason_and_an_investigator(lab: Desk) -> None:
    post(lab, observation(value=0.8))
    proposal_id, etag = _proposal(lab)
    url = f"/v1/proposed-adverse-events/{proposal_id}/rejection"
    coordinator = lab.client.post(
        url,
        json={"reason": "haemolysed sample"},
        headers={**lab.as_(Role.COORDINATOR), "If-Match": etag},
    )
    assert coordinator.status_code == 403
    no_reason = lab.client.post(
        url, json={}, headers={**lab.as_(Role.INVESTIGATOR), "If-Match": etag}
    )
    assert no_reason.status_code == 422
    rejected = lab.client.post(
        url,
        json={"reason": "haemolysed sample"},
        headers={**lab.as_(Role.INVESTIGATOR), "If-Match": etag},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"


def test_a_bundle_of_1000_observations_posted_twice_creates_each_proposed_ae_once(
    lab: Desk,
) -> None:
    values = [0.4, 0.8, 1.2, 1.6, 3.0]  # grades 4, 3, 2, 1, 0
    resources = [
        observation(f"anc-{n}", value=values[n % len(values)], low=1.8, high=7.5)
        for n in range(1000)
    ]
    first = post(lab, bundle(*resources))
    assert first.status_code == 200, first.text
    assert first.json()["counts"] == {"proposed": 800, "graded": 200}
    second = post(lab, bundle(*resources))
    assert second.json()["counts"] == {"duplicate": 1000}
    with lab.db() as session:
        assert session.scalar(select(func.count()).select_from(ProposedAdverseEventRow)) == 800


def test_the_same_observation_twice_in_one_bundle_is_one_proposal(lab: Desk) -> None:
    response = post(lab, bundle(observation(), observation()))
    assert outcomes(response) == ["proposed", "duplicate"]
    assert "earlier in this Bundle" in response.json()["entries"][1]["detail"]


def test_a_preliminary_result_is_not_graded_and_entered_in_error_withdraws_the_proposal(
    lab: Desk,
) -> None:
    assert outcomes(post(lab, observation("prelim", status="preliminary"))) == ["ignored"]
    post(lab, observation())
    withdrawn = post(lab, observation(version="2", status="entered-in-error"))
    assert outcomes(withdrawn) == ["withdrawn"]
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert proposal["status"] == "withdrawn"


def test_every_delivery_is_in_the_audit_trail_with_each_entry_and_its_outcome(lab: Desk) -> None:
    post(lab, {**bundle(observation(), observation("normal", value=3.0)), "id": "delivery-7"})
    post(lab, {**bundle(observation()), "id": "delivery-8"})
    with lab.db() as session:
        first = audit.entity_history(session, entity_type="fhir_delivery", entity_id="delivery-7")
        second = audit.entity_history(session, entity_type="fhir_delivery", entity_id="delivery-8")
    assert first[0]["after"]["entries"] == [
        ["obs-1", "1", "proposed", 3],
        ["normal", "1", "graded", 0],
    ]
    assert second[0]["after"]["entries"] == [["obs-1", "1", "duplicate", None]]
