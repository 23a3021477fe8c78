"""Screening records the subject's sex, birth date and height; the enrolment carries them on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from doseline.auth import Role

from .conftest import Site

FACTS = {"sex": "female", "birth_date": "1968-03-14", "height_cm": "158.5"}


def enrolled_event(site: Site, subject_id: str) -> dict[str, Any]:
    with site.sessions() as session:
        data: dict[str, Any] = session.execute(
            text(
                "SELECT envelope -> 'data' FROM enrollment.outbox"
                " WHERE event_type = 'enrollment.subject.enrolled'"
                " AND envelope -> 'data' ->> 'subject_id' = :subject"
            ),
            {"subject": subject_id},
        ).scalar_one()
    return data


def test_the_enrolment_event_carries_the_sex_birth_date_and_height_recorded_at_screening(
    site: Site,
) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    screening = site.screen(subject_id, subject_facts=FACTS)
    assert screening["subject_facts"] == FACTS
    site.ok(site.sign_off(subject_id, screening))
    site.ok(site.enrol(subject_id), 201)
    event = enrolled_event(site, subject_id)
    assert (event["sex"], event["birth_date"], event["height_cm"]) == (
        "female",
        "1968-03-14",
        158.5,
    )


def test_a_screening_without_subject_facts_enrols_with_none_announced(site: Site) -> None:
    subject_id = site.enrolled_subject()
    event = enrolled_event(site, subject_id)
    assert (event["sex"], event["birth_date"], event["height_cm"]) == (None, None, None)


def test_the_facts_of_the_latest_screening_are_the_ones_announced(site: Site) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    site.screen(subject_id, subject_facts={**FACTS, "height_cm": "185"})
    latest = site.screen(subject_id, subject_facts=FACTS)
    site.ok(site.sign_off(subject_id, latest))
    site.ok(site.enrol(subject_id), 201)
    assert enrolled_event(site, subject_id)["height_cm"] == 158.5


def test_a_birth_date_not_before_the_screening_day_is_a_422_that_stores_nothing(
    site: Site,
) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    before = site.row_counts()
    response = site.api.post(
        f"/v1/subjects/{subject_id}/screenings",
        json={
            "screened_on": site.site_day(-19).isoformat(),
            "answers": {},
            "subject_facts": {"birth_date": site.site_day(-19).isoformat()},
        },
        headers=site.as_(Role.COORDINATOR, "nurse"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "subject_facts", "birth_date"]
    assert site.row_counts() == before
