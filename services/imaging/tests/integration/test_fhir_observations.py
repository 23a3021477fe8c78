"""FHIR R4 Observations from the hospital: PFT and blood gas panels, 6MWT; once per version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from doseline.auth import Role
from imaging.assessments.models import AssessmentRow

from .conftest import DAY_1, SUBJECT, Desk, at_site

LOINC = "http://loinc.org"
MRN_SYSTEM = "urn:oid:1.2.156.112604.1.2.1"


def _quantity(code: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _sex(answer: str = "LA2-8") -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": "76689-9"}]},
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": answer}]},
    }


def observation(
    code: str,
    components: list[dict[str, Any]],
    *,
    observation_id: str = "pft-1",
    version: str = "1",
    status: str = "final",
    subject: tuple[str, str] = ("urn:doseline:study-subject-id", SUBJECT),
    effective: str | None = None,
    value: dict[str, Any] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": version},
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"identifier": {"system": subject[0], "value": subject[1]}},
        "effectiveDateTime": effective or at_site(DAY_1 - timedelta(days=2)),
        "component": components,
    }
    if value is not None:
        resource["valueQuantity"] = value
    return resource


def pft_panel(fev1: float = 2.5, **kwargs: Any) -> dict[str, Any]:
    return observation(
        "81458-2",
        [
            _quantity("20150-9", fev1, "L"),
            _quantity("8302-2", 170, "cm"),
            _quantity("30525-0", 60, "a"),
            _sex(),
        ],
        **kwargs,
    )


def gas_panel(observation_id: str = "abg-1", **kwargs: Any) -> dict[str, Any]:
    return observation(
        "24336-0",
        [
            _quantity("2744-1", 7.40, "[pH]"),
            _quantity("2703-7", 80 / 7.50062, "kPa"),
            _quantity("2019-8", 40, "mm[Hg]"),
            _quantity("3150-0", 21, "%"),
        ],
        observation_id=observation_id,
        **kwargs,
    )


@pytest.fixture
def treated(desk: Desk) -> Desk:
    desk.enrol()
    desk.treat()
    return desk


def send(desk: Desk, resource: dict[str, Any], status: int) -> dict[str, Any]:
    response = desk.client.post(
        "/v1/fhir/Observation", json=resource, headers=desk.auth(Role.EHR_INTEGRATION)
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def count(desk: Desk) -> int:
    with desk.db() as session:
        return session.scalar(select(func.count()).select_from(AssessmentRow)) or 0


def test_a_pft_panel_is_compared_with_gli_global_as_the_acceptance_case(treated: Desk) -> None:
    body = send(treated, pft_panel(), 201)
    assert body["kind"] == "pft"
    assert body["source"] == "fhir"
    assert body["results"]["fev1"]["percent_predicted"] == pytest.approx(82.42, abs=5e-3)
    assert body["visit"] == "baseline"


def test_a_blood_gas_panel_in_mixed_units_gives_the_acceptance_gradient(treated: Desk) -> None:
    body = send(treated, gas_panel(), 201)
    assert body["results"]["alveolar_po2_mmhg"] == pytest.approx(99.73, abs=5e-3)
    assert body["results"]["aa_gradient_mmhg"] == pytest.approx(19.73, abs=5e-3)


def test_a_walk_distance_records_its_assumed_course_length(treated: Desk) -> None:
    resource = observation(
        "64098-7",
        [
            _quantity("8302-2", 170, "cm"),
            _quantity("29463-7", 70, "kg"),
            _quantity("30525-0", 60, "a"),
            _sex(),
        ],
        observation_id="6mwt-1",
        value={"value": 442.8, "unit": "m", "system": "http://unitsofmeasure.org", "code": "m"},
    )
    body = send(treated, resource, 201)
    assert body["metrics"]["distance_percent_predicted"] == pytest.approx(80.0)
    assert "course_length_m" in body["inputs"]["assumed"]


def test_the_same_observation_version_twice_is_recorded_once(treated: Desk) -> None:
    first = send(treated, pft_panel(), 201)
    again = send(treated, pft_panel(), 200)
    assert first["id"] == again["id"]
    assert count(treated) == 1


def test_a_corrected_version_replaces_the_values_and_an_older_one_changes_nothing(
    treated: Desk,
) -> None:
    first = send(treated, pft_panel(), 201)
    corrected = send(treated, pft_panel(fev1=2.8, version="2", status="corrected"), 200)
    assert corrected["id"] == first["id"]
    assert corrected["metrics"]["fev1_l"] == pytest.approx(2.8)
    assert corrected["version"] == 2
    older = send(treated, pft_panel(fev1=1.0, version="1", status="final"), 200)
    assert older["metrics"]["fev1_l"] == pytest.approx(2.8)
    assert count(treated) == 1


def test_entered_in_error_voids_the_assessment(treated: Desk) -> None:
    send(treated, pft_panel(), 201)
    voided = send(treated, pft_panel(version="2", status="entered-in-error"), 200)
    assert voided["status"] == "voided"
    assert "entered-in-error" in voided["void_reason"]


def test_a_hospital_identifier_finds_the_subject_through_its_keyed_hash(desk: Desk) -> None:
    desk.enrol(hospital_ids=[(MRN_SYSTEM, "0012345")])
    body = send(desk, gas_panel(subject=(MRN_SYSTEM, "0012345")), 201)
    assert body["subject_id"] == SUBJECT
    assert body["visit"] is None  # the infusions have not arrived yet
    unknown = send(desk, gas_panel(subject=(MRN_SYSTEM, "999"), observation_id="x"), 409)
    assert unknown["type"] == "/problems/subject-not-known-yet"


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ({"resourceType": "Patient"}, "resourceType"),
        ({**pft_panel(), "status": "dreaming"}, "'dreaming' is not recorded"),
        ({**pft_panel(), "subject": {"reference": "Patient/1"}}, "subject.identifier"),
        ({k: v for k, v in pft_panel().items() if k != "effectiveDateTime"}, "effective[x]"),
        ({**pft_panel(), "status": "preliminary"}, "preliminary"),
        (observation("1234-5", []), "not an outcome"),
        (
            pft_panel()
            | {"component": [_quantity("20150-9", 2.5, "L"), _quantity("8302-2", 170, "cm")]},
            "sex",
        ),
        (
            observation(
                "81458-2",
                [
                    _quantity("20150-9", 2.5, "gallons"),
                    _sex(),
                    _quantity("8302-2", 170, "cm"),
                    _quantity("30525-0", 60, "a"),
                ],
            ),
            "gallons",
        ),
        (pft_panel(fev1=25), "FEV1"),
        (
            gas_panel()
            | {"component": [_quantity("2744-1", 7.4, "[pH]"), _quantity("3150-0", 21, "%")]},
            "PaO2",
        ),
    ],
)
def test_unusable_observations_are_422_problems_that_say_what_to_fix(
    treated: Desk, resource: dict[str, Any], fragment: str
) -> None:
    problem = send(treated, resource, 422)
    assert fragment in problem["detail"]
    assert count(treated) == 0


def test_only_hospital_systems_post_observations(treated: Desk) -> None:
    response = treated.client.post(
        "/v1/fhir/Observation", json=pft_panel(), headers=treated.auth(Role.INVESTIGATOR)
    )
    assert response.status_code == 403


def test_simultaneous_deliveries_of_one_observation_record_it_once(treated: Desk, api: Any) -> None:
    clients = [api("imaging") for _ in range(4)]
    headers = treated.auth(Role.EHR_INTEGRATION)

    def deliver(client: Any) -> int:
        response = client.post("/v1/fhir/Observation", json=pft_panel(), headers=headers)
        status: int = response.status_code
        return status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(deliver, clients))
    assert statuses == [200, 200, 200, 201]
    assert count(treated) == 1


def test_the_same_observation_id_from_two_systems_is_two_assessments(treated: Desk) -> None:
    """FHIR ids are unique per server only: a second hospital system may send "pft-1" too."""
    first = send(treated, pft_panel(), 201)
    other = treated.client.post(
        "/v1/fhir/Observation",
        json=pft_panel(fev1=2.1),
        headers=treated.auth(Role.EHR_INTEGRATION, subject="second-his"),
    )
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first["id"]
    again = treated.client.post(
        "/v1/fhir/Observation",
        json=pft_panel(fev1=2.1),
        headers=treated.auth(Role.EHR_INTEGRATION, subject="second-his"),
    )
    assert (again.status_code, again.headers["X-Intake-Action"]) == (200, "replayed")
    assert count(treated) == 2


def test_a_feed_without_ids_or_versions_is_deduplicated_by_its_content(treated: Desk) -> None:
    anonymous = {k: v for k, v in pft_panel().items() if k not in ("id", "meta")}
    first = send(treated, anonymous, 201)
    again = send(treated, anonymous, 200)
    assert again["id"] == first["id"]
    assert first["inputs"]["fhir"]["id"].startswith("sha256:")
    unversioned = {k: v for k, v in pft_panel(observation_id="pft-2").items() if k != "meta"}
    assert send(treated, unversioned, 201)["inputs"]["fhir"]["version_id"].startswith("sha256:")
    changed = unversioned | {
        "component": [*unversioned["component"][1:], _quantity("20150-9", 2.1, "L")]
    }
    conflict = send(treated, changed, 409)
    assert "amended, corrected or entered-in-error" in conflict["detail"]
    assert count(treated) == 2


def test_a_date_without_a_time_is_the_site_calendar_day(treated: Desk) -> None:
    body = send(treated, {**pft_panel(), "effectiveDateTime": "2026-01-03"}, 201)
    assert body["performed_on"] == "2026-01-03"
    assert datetime.fromisoformat(body["performed_at"]) == datetime(2026, 1, 3, 4, tzinfo=UTC)
    assert "taken as the site calendar day" in body["inputs"]["fhir"]["notes"][0]


def test_a_pft_panel_without_sex_age_and_height_is_recorded_as_measured(treated: Desk) -> None:
    body = send(treated, pft_panel() | {"component": [_quantity("20150-9", 2.5, "L")]}, 201)
    assert body["metrics"]["fev1_l"] == pytest.approx(2.5)
    assert body["metrics"]["fev1_percent_predicted"] is None
    assert (
        "sex (76689-9), age (30525-0) and body height" in body["results"]["reference_unavailable"]
    )


def test_an_alias_of_the_site_mrn_system_finds_the_subject_its_site_registered(
    desk: Desk,
) -> None:
    from doseline.contracts.protocol import ProtocolActivated
    from doseline.identity import hospital_id_hash
    from enrollment.protocol import load_shipped_protocol
    from imaging.protocols import tasks as protocol_tasks
    from imaging.subjects import repository as subjects_repository

    shipped = load_shipped_protocol("hdmsc-rp-01")
    desk.deliver(
        ProtocolActivated(
            trial_id=shipped.trial_id,
            protocol_id=shipped.protocol_id,
            protocol_version=shipped.version,
            content_hash=shipped.content_hash,
            sequence=1,
            activation="initial",
            effective_from=None,
            activated_at=datetime.now(UTC),
            rules=shipped.trial_rules(),
        ),
        protocol_tasks.on_protocol_activated,
    )
    wch = shipped.site_by_id("WCH")
    assert wch is not None
    desk.enrol()
    # The hash enrollment publishes for a coordinator who typed "MRN" at WCH.
    registered = hospital_id_hash(
        desk.settings.identifier_hash_key.get_secret_value(),
        system="MRN",
        value="0012345",
        site_systems=wch.identifier_systems,
    )
    with desk.db() as session, session.begin():
        subjects_repository.add_hospital_hashes(session, SUBJECT, [registered])
    for index, system in enumerate(("1.2.156.112604.1.2.1", MRN_SYSTEM, "mrn")):
        body = send(
            desk, gas_panel(subject=(system, "0012345"), observation_id=f"alias-{index}"), 201
        )
        assert body["subject_id"] == SUBJECT, system
