"""Sex, age and height flow from screening: requests may omit them, and repeated ones must agree;
the six-minute walk course is the site's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml

from doseline.auth import Role
from doseline.contracts.protocol import ProtocolActivated
from enrollment.protocol import load_protocol, load_shipped_protocol
from imaging.protocols import tasks as protocol_tasks

from .conftest import DAY_1, SUBJECT, Desk, at_site
from .test_fhir_observations import _quantity, _sex, observation, send

PFT_DAY = DAY_1 - timedelta(days=3)
# 21915 days = 60.00 years of 365.25 days before the test day: the acceptance case's age.
BIRTH_DATE = PFT_DAY - timedelta(days=21915)
WALK = {"weight_kg": 70, "distance_m": 442.8, "stops": 0}


@pytest.fixture
def screened(desk: Desk) -> Desk:
    """A man of 170 cm, 60 years old on the day of the tests, as recorded at screening."""
    desk.enrol(sex="male", birth_date=BIRTH_DATE, height_cm=170)
    desk.treat()
    return desk


def pft(desk: Desk, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    return desk.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {"fev1_l": 2.5, "performed_at": at_site(PFT_DAY), **body},
        status,
    )


def walk(desk: Desk, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    return desk.post(
        f"/v1/subjects/{SUBJECT}/walk-tests",
        {**WALK, "performed_at": at_site(PFT_DAY), **body},
        status,
    )


def test_a_pft_without_sex_age_and_height_uses_the_facts_recorded_at_screening(
    screened: Desk,
) -> None:
    body = pft(screened, {})
    assert body["results"]["fev1"]["percent_predicted"] == pytest.approx(82.42, abs=5e-3)
    assert body["results"]["subject_facts"] == {
        "sex": {"value": "male", "source": "screening"},
        "age_years": {"value": 60.0, "source": "screening"},
        "height_cm": {"value": 170.0, "source": "screening"},
    }


def test_the_age_is_computed_at_the_day_of_each_test(screened: Desk) -> None:
    later = pft(screened, {"performed_at": at_site(PFT_DAY + timedelta(days=300))})
    # 60 years and 300 days: 60.82 in decimal years, as the GLI equations take the age.
    assert later["results"]["subject_facts"]["age_years"]["value"] == pytest.approx(60.82)


def test_facts_repeated_within_tolerance_are_used_and_said_to_agree(screened: Desk) -> None:
    body = pft(screened, {"sex": "male", "age_years": 60, "height_cm": 172})
    facts = body["results"]["subject_facts"]
    assert facts["height_cm"] == {"value": 172.0, "source": "request, agrees with screening"}
    assert facts["sex"]["source"] == "request, agrees with screening"


@pytest.mark.parametrize(
    ("given", "field", "fragments"),
    [
        ({"sex": "female"}, "sex", ("female", "male")),
        ({"height_cm": 174}, "height_cm", ("174 cm", "170 cm", "3 cm")),
        ({"age_years": 62}, "age_years", ("62", "60", "1 year")),
    ],
)
def test_a_fact_that_contradicts_screening_is_a_422_naming_the_field_and_both_values(
    screened: Desk, given: dict[str, Any], field: str, fragments: tuple[str, ...]
) -> None:
    problem = pft(screened, given, 422)
    assert problem["type"] == "/problems/subject-fact-disagrees"
    assert problem["errors"][0]["loc"] == ["body", field]
    for fragment in fragments:
        assert fragment in problem["detail"]
    listed = screened.client.get(
        f"/v1/subjects/{SUBJECT}/assessments", headers=screened.auth(Role.MONITOR)
    )
    assert listed.json()["items"] == []


def test_a_subject_screened_without_facts_needs_them_in_the_request(desk: Desk) -> None:
    desk.enrol()
    desk.treat()
    problem = pft(desk, {"age_years": 60, "height_cm": 170}, 422)
    assert problem["errors"][0]["loc"] == ["body", "sex"]
    assert "record it at screening" in problem["detail"]
    given = pft(desk, {"sex": "male", "age_years": 60, "height_cm": 170})
    assert given["results"]["subject_facts"]["sex"] == {"value": "male", "source": "request"}


def test_a_correction_checks_its_facts_against_screening_too(screened: Desk) -> None:
    recorded = pft(screened, {})
    read = screened.client.get(
        f"/v1/assessments/{recorded['id']}", headers=screened.auth(Role.MONITOR)
    )
    response = screened.client.post(
        f"/v1/assessments/{recorded['id']}/corrections",
        json={
            "reason": "sex typed wrongly",
            "values": {"fev1_l": 2.5, "sex": "female", "performed_at": at_site(PFT_DAY)},
        },
        headers={**screened.as_(), "If-Match": read.headers["ETag"]},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "values", "sex"]


def _protocol_with_course(course_m: float | None) -> ProtocolActivated:
    document = load_shipped_protocol("hdmsc-rp-01").model_dump(mode="json")
    for site in document["sites"]:
        if course_m is None:
            site.pop("walk_course_length_m", None)
        else:
            site["walk_course_length_m"] = course_m
    protocol = load_protocol(yaml.safe_dump(document, allow_unicode=True))
    return ProtocolActivated(
        trial_id=protocol.trial_id,
        protocol_id=protocol.protocol_id,
        protocol_version=protocol.version,
        content_hash=protocol.content_hash,
        sequence=1,
        activation="initial",
        effective_from=None,
        activated_at=datetime.now(UTC),
        rules=protocol.trial_rules(),
    )


def test_a_walk_test_without_a_course_length_uses_the_standard_30_m_course(
    screened: Desk,
) -> None:
    body = walk(screened, {})
    assert body["results"]["course_length"] == {"value": 30.0, "source": "site setting"}
    # Enright & Sherrill 1998 for the screening's man of 60 and 170 cm: 553.5 m predicted.
    assert body["metrics"]["distance_percent_predicted"] == pytest.approx(80.0)


def test_a_walk_test_without_a_course_length_uses_the_site_course_of_the_protocol(
    screened: Desk,
) -> None:
    screened.deliver(_protocol_with_course(25), protocol_tasks.on_protocol_activated)
    body = walk(screened, {})
    assert body["results"]["course_length"] == {"value": 25.0, "source": "site setting"}
    given = walk(screened, {"course_length_m": 40})
    assert given["results"]["course_length"] == {"value": 40.0, "source": "request"}


def test_the_standard_course_leaves_the_protocol_hash_as_it_was() -> None:
    shipped = load_shipped_protocol("hdmsc-rp-01")
    assert _protocol_with_course(None).content_hash == shipped.content_hash
    assert _protocol_with_course(30).content_hash == shipped.content_hash
    assert _protocol_with_course(25).content_hash != shipped.content_hash


def test_a_fhir_walk_distance_alone_uses_screening_facts_and_the_site_course(
    screened: Desk,
) -> None:
    screened.deliver(_protocol_with_course(25), protocol_tasks.on_protocol_activated)
    resource = observation(
        "64098-7",
        [_quantity("29463-7", 70, "kg")],
        observation_id="6mwt-facts",
        effective=at_site(PFT_DAY),
        value={"value": 442.8, "unit": "m", "system": "http://unitsofmeasure.org", "code": "m"},
    )
    body = send(screened, resource, 201)
    assert body["metrics"]["distance_percent_predicted"] == pytest.approx(80.0)
    assert body["results"]["course_length"]["value"] == 25.0
    assert "25 m" in body["inputs"]["assumed"]["course_length_m"]
    assert body["results"]["subject_facts"]["age_years"]["source"] == "screening"


def test_a_fhir_fev1_alone_is_compared_with_gli_using_screening_facts(screened: Desk) -> None:
    resource = observation("81458-2", [_quantity("20150-9", 2.5, "L")], effective=at_site(PFT_DAY))
    body = send(screened, resource, 201)
    assert body["results"]["fev1"]["percent_predicted"] == pytest.approx(82.42, abs=5e-3)


def test_a_fhir_result_whose_sex_contradicts_screening_is_a_422(screened: Desk) -> None:
    resource = observation(
        "81458-2",
        [_quantity("20150-9", 2.5, "L"), _sex("LA3-6")],
        effective=at_site(PFT_DAY),
    )
    problem = send(screened, resource, 422)
    assert "sex (LOINC 76689-9)" in problem["detail"]
    assert "female differs from male" in problem["detail"]


def test_a_fhir_walk_without_facts_anywhere_is_a_422_naming_the_missing_ones(
    desk: Desk,
) -> None:
    desk.enrol()
    desk.treat()
    resource = observation(
        "64098-7",
        [_quantity("29463-7", 70, "kg"), _sex()],
        observation_id="6mwt-none",
        value={"value": 442.8, "unit": "m", "system": "http://unitsofmeasure.org", "code": "m"},
    )
    problem = send(desk, resource, 422)
    assert "age (30525-0) and body height (8302-2)" in problem["detail"]


def test_a_replayed_enrolment_without_facts_keeps_the_recorded_ones(screened: Desk) -> None:
    screened.enrol()
    assert pft(screened, {})["results"]["subject_facts"]["sex"]["source"] == "screening"


def test_birth_date_reaches_the_projection_as_a_date(screened: Desk) -> None:
    from imaging.subjects import repository

    with screened.db() as session:
        row = repository.subject(session, SUBJECT)
        assert row is not None
        assert (row.sex, row.birth_date, row.height_cm) == ("male", BIRTH_DATE, 170.0)
        assert isinstance(row.birth_date, date)
