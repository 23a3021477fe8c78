"""FHIR lab intake: matching, grading, proposals, dedupe, corrections, per-entry outcomes."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from doseline import audit
from doseline.auth import Role
from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY, hospital_id_hash
from safety.ehr.models import LabObservationRow, ProposedAdverseEventRow
from safety.manifest import SERVICE

from .conftest import SHIPPED_PROTOCOL, Desk, site_today

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
    """An enrolled subject, first infused ten days ago: yesterday's results are in the AE
    reporting period."""
    desk.enrol(
        SUBJECT,
        hashes=[hospital_id_hash(DEVELOPMENT_IDENTIFIER_KEY, system=MRN_SYSTEM, value=MRN)],
    )
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=10))
    return desk


def post(
    desk: Desk, payload: Any, *, media: str = "application/fhir+json", sender: str = "his"
) -> Any:
    import json

    response = desk.client.post(
        "/v1/fhir/Observation",
        content=json.dumps(payload),
        headers={**desk.auth(Role.EHR_INTEGRATION, subject=sender), "Content-Type": media},
    )
    return response


def entries(response: Any) -> list[dict[str, Any]]:
    """Each entry of a response Bundle as {outcome, status, detail, location}, or the answer to
    a lone Observation."""
    assert response.status_code in (200, 201), response.text
    body = response.json()
    if body.get("resourceType") != "Bundle":
        return [body]
    found = []
    for entry in body["entry"]:
        issue = entry["response"]["outcome"]["issue"][0]
        found.append(
            {
                "outcome": issue["details"]["coding"][0]["code"],
                "status": entry["response"]["status"],
                "detail": issue["diagnostics"],
                "location": entry["response"].get("location"),
                "issues": entry["response"]["outcome"]["issue"],
            }
        )
    return found


def outcomes(response: Any) -> list[str]:
    return [entry["outcome"] for entry in entries(response)]


def test_a_grade_3_neutrophil_count_proposes_an_ae_for_the_subject(lab: Desk) -> None:
    response = post(lab, observation())
    assert response.status_code == 201, response.text
    assert response.headers["X-Intake-Action"] == "proposed"
    entry = response.json()
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
    assert outcomes(response) == ["proposed", "proposed"]
    proposals = lab.client.get(
        "/v1/proposed-adverse-events", params={"status": "proposed"}, headers=lab.as_(Role.MONITOR)
    ).json()
    terms = sorted((p["observation_id"], p["term"], p["proposed_grade"]) for p in proposals)
    assert terms == [("k-high", "Hyperkalemia", 3), ("k-low", "Hypokalemia", 4)]


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
    assert corrected.status_code == 200, corrected.text
    entry = corrected.json()
    assert (entry["outcome"], entry["grade"]) == ("updated", 4)
    late_original = post(lab, observation(version="1", value=0.8))
    assert outcomes(late_original) == ["duplicate"]
    normal = post(lab, observation(version="3", status="amended", value=2.5))
    assert outcomes(normal) == ["withdrawn"]
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert (proposal["status"], proposal["observation_version_id"]) == ("withdrawn", "3")


def test_a_proposal_corrected_between_two_pages_is_shown_once_in_its_place(lab: Desk) -> None:
    for number in (1, 2, 3):
        assert outcomes(post(lab, observation(f"obs-{number}"))) == ["proposed"]
    first = lab.client.get(
        "/v1/proposed-adverse-events", params={"limit": 2}, headers=lab.as_(Role.MONITOR)
    )
    assert first.status_code == 200, first.text
    next_page = first.links["next"]["url"]
    # The result already read and the one still to come are corrected: their last change is
    # now the newest, and neither moves.
    for observation_id in ("obs-1", "obs-3"):
        corrected = observation(observation_id, version="2", status="corrected", value=0.4)
        assert outcomes(post(lab, corrected)) == ["updated"]
    second = lab.client.get(next_page, headers=lab.as_(Role.MONITOR))
    assert second.status_code == 200, second.text
    assert "next" not in second.links
    shown = [(p["observation_id"], p["proposed_grade"]) for p in first.json() + second.json()]
    assert shown == [("obs-1", 3), ("obs-2", 3), ("obs-3", 4)]


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (observation(identifier="HDMSC-RP-01-404"), "no enrolled subject"),
        (observation(system=MRN_SYSTEM, identifier="MRN-9999"), "no enrolled subject"),
        (observation(unit="mg/dL"), "cannot be graded"),
        (observation(unit="x" * 41), "longer than 40"),
        (observation(value=1e300), "out of range"),
        ({**observation(), "status": "nonsense"}, "not a valid FHIR R4 Observation"),
        ({k: v for k, v in observation().items() if k != "valueQuantity"}, "valueQuantity"),
        ({k: v for k, v in observation().items() if k != "subject"}, "Observation.subject"),
        (
            {k: v for k, v in observation().items() if k != "effectiveDateTime"},
            "Observation.effective[x]",
        ),
        (
            {**observation(), "valueQuantity": {"value": 0.8, "comparator": "<", "unit": "10*9/L"}},
            "a bound",
        ),
    ],
)
def test_an_unusable_entry_is_rejected_with_its_reason_and_the_others_still_count(
    lab: Desk, resource: dict[str, Any], words: str
) -> None:
    response = post(lab, bundle(resource, observation("good")))
    first, second = entries(response)
    assert first["outcome"] == "rejected"
    assert first["status"].startswith("4"), first
    assert words in first["detail"], first
    assert second["outcome"] == "proposed"


@pytest.mark.parametrize(
    ("payload", "media", "status"),
    [
        ("[]", "application/json", 422),
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
    assert Counter(outcomes(first)) == {"proposed": 800, "graded": 200}
    second = post(lab, bundle(*resources))
    assert Counter(outcomes(second)) == {"duplicate": 1000}
    with lab.db() as session:
        assert session.scalar(select(func.count()).select_from(ProposedAdverseEventRow)) == 800


def proposed_events(desk: Desk) -> list[dict[str, Any]]:
    """The `safety.ae.proposed` envelopes in the outbox, in the order written."""
    outbox = SERVICE.schema.kit.outbox
    with desk.db() as session:
        rows = session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "safety.ae.proposed")
            .order_by(outbox.c.id)
        ).all()
    return [row.envelope for row in rows]


def test_each_proposal_is_announced_once_and_nothing_else_is(lab: Desk) -> None:
    values = [0.4, 0.8, 1.2, 1.6, 3.0]  # grades 4, 3, 2, 1, 0
    resources = [observation(f"anc-{n}", value=values[n % len(values)]) for n in range(10)]
    refused = {
        key: value for key, value in observation("no-value").items() if key != "valueQuantity"
    }
    first = post(lab, bundle(*resources, refused))
    answered = entries(first)
    assert Counter(outcomes(first)) == {"proposed": 8, "graded": 2, "rejected": 1}
    announced = proposed_events(lab)
    assert len(announced) == 8
    proposals = {
        entry["location"].rsplit("/", 1)[-1]: resource["id"]
        for entry, resource in zip(answered, resources, strict=False)
        if entry["outcome"] == "proposed"
    }
    assert {e["data"]["proposal_id"]: e["data"]["observation_id"] for e in announced} == proposals
    grades = {f"anc-{n}": 4 - n % 5 for n in range(10)}
    for envelope in announced:
        data = envelope["data"]
        assert envelope["subject"] == f"subjects/{SUBJECT}"
        assert envelope["source"] == "urn:doseline:safety"
        assert data["trial_id"] == "HDMSC-RP-01"
        assert data["subject_id"] == SUBJECT
        assert data["site_id"] == "WCH"
        assert data["loinc"] == ANC
        assert data["unit"] == "10*9/L"
        assert data["value"] == str(values[int(data["observation_id"][4:]) % 5])
        assert data["observation_version_id"] == "1"
        assert data["term"] == "Neutrophil count decreased"
        assert data["grade"] == grades[data["observation_id"]]
        assert data["onset_date"] == (site_today() - timedelta(days=1)).isoformat()
    with lab.db() as session:
        stored = session.scalars(select(ProposedAdverseEventRow.id)).all()
    assert {str(pid) for pid in stored} == set(proposals)

    again = post(lab, bundle(*resources, refused))
    assert Counter(outcomes(again)) == {"duplicate": 10, "rejected": 1}
    assert len(proposed_events(lab)) == 8


def test_a_corrected_result_regrades_its_proposal_without_announcing_another(
    lab: Desk,
) -> None:
    """A correction regrades the proposal it finds; it is not a new proposal to announce."""
    post(lab, observation(value=0.8))
    corrected = post(lab, observation(version="2", status="corrected", value=0.4))
    assert outcomes(corrected) == ["updated"]
    [announced] = proposed_events(lab)
    assert announced["data"]["grade"] == 3


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_the_statements_of_a_post_do_not_grow_with_its_observations(lab: Desk) -> None:
    """One statement per kind of row, the events included: 5 and 100 Observations (each batch
    proposing and grading 0, first posted then re-posted) cost the same statements."""
    values = [0.4, 0.8, 1.2, 1.6, 3.0]
    counted: dict[tuple[int, str], int] = {}
    for size in (5, 100):
        resources = [
            observation(f"anc-{size}-{n}", value=values[n % len(values)]) for n in range(size)
        ]
        for attempt in ("first", "again"):
            with statements() as seen:
                response = post(lab, bundle(*resources))
            assert response.status_code == 200, response.text
            counted[size, attempt] = len(seen)
    assert len(proposed_events(lab)) == 4 + 80
    assert counted[5, "first"] == counted[100, "first"]
    assert counted[5, "again"] == counted[100, "again"]


def test_the_same_observation_twice_in_one_bundle_is_one_proposal(lab: Desk) -> None:
    response = post(lab, bundle(observation(), observation()))
    assert outcomes(response) == ["proposed", "duplicate"]
    assert "earlier in this Bundle" in entries(response)[1]["detail"]


def test_a_preliminary_result_is_not_graded_and_entered_in_error_withdraws_the_proposal(
    lab: Desk,
) -> None:
    assert outcomes(post(lab, observation("prelim", status="preliminary"))) == ["ignored"]
    post(lab, observation())
    withdrawn = post(lab, observation(version="2", status="entered-in-error"))
    assert outcomes(withdrawn) == ["withdrawn"]
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert proposal["status"] == "withdrawn"


def test_an_observation_another_request_stores_first_is_answered_409_and_the_rest_stored(
    lab: Desk,
) -> None:
    """The other request holds its row uncommitted while this Bundle is decided; this Bundle's
    insert waits for it, finds it stored, and decides again without it."""
    other = lab.db()
    other.add(
        LabObservationRow(
            id=uuid.uuid4(),
            source="his",
            observation_id="race",
            version_id="1",
            status="final",
            subject_id=SUBJECT,
            loinc=ANC,
            value=Decimal("0.8"),
            unit="10*9/L",
            effective_on=site_today() - timedelta(days=1),
            grading_reason="stored by the other request",
            received_at=datetime.now(UTC),
            received_by="his",
            outcome="graded",
            content_hash="0" * 64,
        )
    )
    other.flush()
    answer: list[Any] = []
    poster = threading.Thread(
        target=lambda: answer.append(
            post(lab, {**bundle(observation("race"), observation("calm")), "id": "raced"})
        )
    )
    poster.start()
    try:
        with lab.db() as watcher:
            for _ in range(600):
                waiting = watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'INSERT INTO%lab_observations%'"
                    )
                )
                watcher.rollback()
                if waiting or not poster.is_alive():
                    break
                time.sleep(0.05)
        other.commit()
    finally:
        other.close()
        poster.join(timeout=60)
    [response] = answer
    found = entries(response)
    assert [(e["outcome"], e["status"]) for e in found] == [
        ("rejected", "409 Conflict"),
        ("proposed", "201 Created"),
    ]
    assert "delivered concurrently" in found[0]["detail"]
    with lab.db() as session:
        stored = session.scalars(select(LabObservationRow.observation_id)).all()
        proposed = session.scalars(select(ProposedAdverseEventRow.observation_id)).all()
        delivery = audit.entity_history(session, entity_type="fhir_delivery", entity_id="raced")
        report = audit.verify(session)
    assert sorted(stored) == ["calm", "race"]
    assert proposed == ["calm"]
    assert delivery[0]["after"]["entries"] == [
        ["race", "1", "rejected", None],
        ["calm", "1", "proposed", 3],
    ]
    assert report.intact, report.problems


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


# --- Identity and versions as EHRs send them ------------------------------------------------


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


def test_a_result_without_version_id_is_deduplicated_by_its_content(lab: Desk) -> None:
    unversioned = _without_meta(observation("no-version"))
    assert outcomes(post(lab, unversioned)) == ["proposed"]
    again = post(lab, unversioned)
    assert again.status_code == 200, again.text
    assert outcomes(again) == ["duplicate"]
    changed = _without_meta(observation("no-version", status="corrected", value=0.4))
    assert outcomes(post(lab, changed)) == ["updated"]


def test_a_result_without_an_id_is_identified_by_its_content(lab: Desk) -> None:
    anonymous = {k: v for k, v in observation().items() if k not in ("id", "meta")}
    assert outcomes(post(lab, bundle(anonymous))) == ["proposed"]
    assert outcomes(post(lab, bundle(anonymous))) == ["duplicate"]


def test_last_updated_stands_in_for_a_missing_version_id(lab: Desk) -> None:
    first = {**observation("lu"), "meta": {"lastUpdated": "2026-12-01T08:00:00Z"}}
    assert outcomes(post(lab, first)) == ["proposed"]
    assert outcomes(post(lab, first)) == ["duplicate"]
    later = {
        **observation("lu", status="amended", value=3.0),
        "meta": {"lastUpdated": "2026-12-02T08:00:00Z"},
    }
    assert outcomes(post(lab, later)) == ["withdrawn"]
    older = {
        **observation("lu", status="corrected", value=0.3),
        "meta": {"lastUpdated": "2026-11-30T08:00:00Z"},
    }
    assert outcomes(post(lab, older)) == ["stale"]


def test_the_same_version_with_other_content_is_a_conflict_kept_for_review(lab: Desk) -> None:
    assert outcomes(post(lab, observation(value=0.8))) == ["proposed"]
    in_bundle = entries(post(lab, bundle(observation(value=0.3))))
    assert [(e["outcome"], e["status"]) for e in in_bundle] == [("conflict", "409 Conflict")]
    assert "different content" in in_bundle[0]["detail"]
    alone = post(lab, observation(value=0.3))
    assert alone.status_code == 409, alone.text
    assert alone.headers["content-type"] == "application/fhir+json"
    assert alone.json()["resourceType"] == "OperationOutcome"
    conflicts = lab.client.get("/v1/lab-intake-conflicts", headers=lab.as_(Role.MONITOR)).json()
    assert [(c["observation_id"], c["version_id"]) for c in conflicts] == [("obs-1", "1")]
    assert conflicts[0]["summary"]["received"]["value"] == "0.3"
    assert conflicts[0]["summary"]["recorded"]["value"] == "0.8"
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert proposal["proposed_grade"] == 3


def test_the_same_observation_id_from_two_systems_is_two_results(lab: Desk) -> None:
    """Observation ids are unique per server: a second laboratory system may reuse "obs-1"."""
    assert outcomes(post(lab, observation(value=0.8))) == ["proposed"]
    assert outcomes(post(lab, observation(value=0.4), sender="lis-2")) == ["proposed"]
    assert outcomes(post(lab, observation(value=0.4), sender="lis-2")) == ["duplicate"]
    proposals = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert sorted(p["proposed_grade"] for p in proposals) == [3, 4]


# --- Subjects named as EHRs name them -------------------------------------------------------


def _patient(patient_id: str = "pat-1", *, mrn: str = MRN) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [
            {"system": "http://hospital.example/ssn", "value": "000-00-0000"},
            {"system": MRN_SYSTEM, "value": mrn},
        ],
        "gender": "female",
        "birthDate": "1961-04-02",
    }


def _by_reference(
    observation_id: str, reference: str = "Patient/pat-1", **kw: Any
) -> dict[str, Any]:
    resource = observation(observation_id, **kw)
    resource["subject"] = {"reference": reference}
    return resource


def test_a_patient_reference_is_matched_through_the_patient_of_the_same_bundle(
    lab: Desk,
) -> None:
    response = post(lab, bundle(_patient(), _by_reference("ref-1")))
    assert outcomes(response) == ["skipped", "proposed"]
    assert "match the subjects" in entries(response)[0]["detail"]
    # The same sender's reference is remembered: a lone Observation naming it is matched.
    assert outcomes(post(lab, _by_reference("ref-2"))) == ["proposed"]


def test_a_bundle_of_patients_alone_teaches_their_references(lab: Desk) -> None:
    introduced = post(lab, {**bundle(_patient()), "type": "collection"})
    assert outcomes(introduced) == ["skipped"]
    assert outcomes(post(lab, _by_reference("ref-6"))) == ["proposed"]
    # Another system's reference of the same form is its own, not learnt from this one.
    assert post(lab, _by_reference("ref-7"), sender="lis-2").status_code == 404


def test_a_full_url_reference_to_a_patient_entry_is_matched(lab: Desk) -> None:
    payload = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:7f1c", "resource": {**_patient(), "id": None}},
            {"fullUrl": "urn:uuid:a9b2", "resource": _by_reference("ref-3", "urn:uuid:7f1c")},
        ],
    }
    response = post(lab, payload)
    assert response.json()["type"] == "transaction-response"
    assert outcomes(response) == ["skipped", "proposed"]


def test_an_unknown_patient_reference_names_the_fix(lab: Desk) -> None:
    response = post(lab, _by_reference("ref-4", "Patient/elsewhere"))
    assert response.status_code == 404, response.text
    assert "Patient/elsewhere cannot be matched" in response.json()["issue"][0]["diagnostics"]
    other = post(lab, bundle(_patient(mrn="MRN-0000"), _by_reference("ref-5")))
    assert entries(other)[1]["status"] == "404 Not Found"


# --- The shapes labs come in ---------------------------------------------------------------


def _dated(resource: dict[str, Any], **effective: Any) -> dict[str, Any]:
    undated = {k: v for k, v in resource.items() if k != "effectiveDateTime"}
    return {**undated, **effective}


def test_a_report_gives_its_time_to_results_that_have_none(lab: Desk) -> None:
    day = (site_today() - timedelta(days=2)).isoformat()
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"identifier": {"system": STUDY_SYSTEM, "value": SUBJECT}},
        "effectiveDateTime": f"{day}T07:45:00+08:00",
        "issued": f"{day}T11:00:00+08:00",
        "result": [{"reference": "Observation/anc-r"}, {"reference": "#plt"}],
        "contained": [
            _dated(observation("plt", code="777-3", value=40, unit="10*9/L", low=150, high=400))
        ],
    }
    response = post(lab, bundle(report, _dated(observation("anc-r"))))
    assert outcomes(response) == ["report", "proposed"]
    report_entry = entries(response)[0]
    assert [i["details"]["coding"][0]["code"] for i in report_entry["issues"][1:]] == ["proposed"]
    assert "1 of its results are answered in their own entries" in report_entry["detail"]
    proposals = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert sorted((p["observation_id"], p["onset_date"]) for p in proposals) == [
        ("anc-r", day),
        ("cbc-1-plt", day),
    ]


def test_a_panel_gives_its_time_to_its_members(lab: Desk) -> None:
    day = (site_today() - timedelta(days=3)).isoformat()
    panel = {
        "resourceType": "Observation",
        "id": "bmp-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "51990-0"}]},
        "subject": {"identifier": {"system": STUDY_SYSTEM, "value": SUBJECT}},
        "effectiveDateTime": day,
        "hasMember": [{"reference": "Observation/k-1"}],
    }
    potassium = _dated(
        observation("k-1", code=POTASSIUM, value=6.5, unit="mmol/L", low=3.5, high=5.1)
    )
    response = post(lab, bundle(panel, potassium))
    assert outcomes(response) == ["report", "proposed"]
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    assert proposal["onset_date"] == day


def test_a_date_without_a_time_is_the_site_calendar_day(lab: Desk) -> None:
    day = (site_today() - timedelta(days=4)).isoformat()
    assert outcomes(post(lab, _dated(observation("d-1"), effectiveDateTime=day))) == ["proposed"]
    period = {"start": f"{day}T23:30:00+08:00", "end": f"{day}T23:45:00+08:00"}
    assert outcomes(post(lab, _dated(observation("d-2"), effectivePeriod=period))) == ["proposed"]
    onsets = {
        p["observation_id"]: p["onset_date"]
        for p in lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    }
    assert onsets == {"d-1": day, "d-2": day}


def test_entries_that_are_not_lab_results_are_skipped_with_a_reason(lab: Desk) -> None:
    heart_rate = {
        **observation("hr", code="8867-4", value=72, unit="/min", low=None, high=None),
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
    }
    response = post(
        lab,
        bundle(
            {"resourceType": "Encounter", "id": "e1", "status": "finished"},
            heart_rate,
            observation("hba1c", code="4548-4", value=6.1, unit="%", low=None, high=None),
            observation(),
        ),
    )
    assert outcomes(response) == ["skipped", "skipped", "skipped", "proposed"]
    details = [e["detail"] for e in entries(response)]
    assert "Encounter is not a laboratory result" in details[0]
    assert "a vital sign" in details[1]
    assert "no CTCAE v5.0 term is graded from LOINC 4548-4" in details[2]
    alone = post(lab, observation("hba1c-2", code="4548-4", value=6.1, unit="%"))
    assert alone.status_code == 422, alone.text


# --- No invented adverse events ------------------------------------------------------------


def test_a_result_before_the_first_infusion_is_history_and_proposes_nothing(lab: Desk) -> None:
    before = (site_today() - timedelta(days=40)).isoformat()
    response = post(lab, _dated(observation("old", value=0.3), effectiveDateTime=before))
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "history"
    assert "before the first infusion" in response.json()["detail"]
    assert lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json() == []


def test_a_subject_not_yet_infused_gets_history_only(desk: Desk) -> None:
    desk.enrol("HDMSC-RP-01-002")
    response = post(desk, observation("pre", identifier="HDMSC-RP-01-002", value=0.3))
    assert response.json()["outcome"] == "history"


def test_a_result_without_a_range_is_graded_against_the_sites_default_range(lab: Desk) -> None:
    response = post(lab, observation("no-range", value=3.1, low=None, high=None))
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "graded"
    low = post(lab, observation("no-range-low", value=1.2, low=None, high=None))
    assert low.json()["outcome"] == "proposed"
    [proposal] = lab.client.get("/v1/proposed-adverse-events", headers=lab.as_(Role.MONITOR)).json()
    basis = proposal["grading_basis"]
    # ABIM's ANC of 2000–8250/µL, in the result's 10*3/uL.
    assert (basis["lln"], basis["reference_range_origin"]) == (
        "2.000",
        "shipped adult default (ABIM 2026)",
    )


def test_a_range_that_depends_on_sex_is_taken_from_the_patient_of_the_bundle(lab: Desk) -> None:
    haemoglobin = {"code": "718-7", "unit": "g/dL", "low": None, "high": None}
    alone = post(lab, observation("hb-1", value=12.5, **haemoglobin))
    assert alone.status_code == 422, alone.text
    diagnostics = alone.json()["issue"][0]["diagnostics"]
    assert "needs a reference range" in diagnostics, diagnostics
    assert "sex" in diagnostics, diagnostics
    with_patient = post(lab, bundle(_patient(), _by_reference("hb-2", value=12.5, **haemoglobin)))
    # Female LLN 12 g/dL: 12.5 is normal; for a man (LLN 14) it would be grade 1.
    assert outcomes(with_patient) == ["skipped", "graded"]


def test_a_grade_that_depends_on_a_missing_range_is_refused_not_guessed(lab: Desk) -> None:
    troponin = {"code": "10839-9", "unit": "ng/mL", "low": None, "high": None}
    refused = post(lab, observation("tni-1", value=0.01, **troponin))
    assert refused.status_code == 422, refused.text
    diagnostics = refused.json()["issue"][0]["diagnostics"]
    assert "needs a reference range" in diagnostics, diagnostics
    assert "ULN" in diagnostics, diagnostics
    # A value whose grade the number alone decides is graded without a range.
    assert outcomes(post(lab, observation("low-anc", value=0.8, low=None, high=None))) == [
        "proposed"
    ]


def test_a_record_naming_any_alias_of_the_site_mrn_system_finds_the_subject(desk: Desk) -> None:
    # As enrollment registers it: the coordinator typed "MRN", WCH declares the OID system.
    wch = SHIPPED_PROTOCOL.site_by_id("WCH")
    assert wch is not None
    registered = hospital_id_hash(
        DEVELOPMENT_IDENTIFIER_KEY,
        system="MRN",
        value="WCH-0077",
        site_systems=wch.identifier_systems,
    )
    desk.enrol(SUBJECT, hashes=[registered])
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=10))
    for index, system in enumerate(("MRN", MRN_SYSTEM, "1.2.156.112604.1.2.1", " mrn ")):
        response = post(desk, observation(f"alias-{index}", system=system, identifier="wch-0077"))
        assert outcomes(response) == ["proposed"], system
    unknown = post(desk, bundle(observation("other-system", system="SSN", identifier="WCH-0077")))
    assert entries(unknown)[0]["status"] == "404 Not Found"


def test_loinc_is_recognised_in_the_forms_converted_feeds_name_it(lab: Desk) -> None:
    """HL7 v2 and CDA converters often write LOINC's OID instead of http://loinc.org."""
    resource = observation("oid-1")
    resource["code"] = {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": ANC}]}
    assert outcomes(post(lab, resource)) == ["proposed"]
