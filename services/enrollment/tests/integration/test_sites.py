"""Sites: a subject is registered at one of the protocol's sites and keeps it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from doseline.auth import Role
from doseline.testing.identifiers import hospital_identifier
from enrollment.protocol import PROTOCOLS_DIR

from .conftest import TRIAL, Site

PUMCH_SITE = """  - id: PUMCH
    # EXAMPLE: the summary names a single centre. This second site shows how a multi-centre
    # trial is configured and keeps site scope exercised; remove it for the registered trial.
    name: Peking Union Medical College Hospital
    city: Beijing
    country: China
    time_zone: Asia/Shanghai
"""


def register(
    site: Site, body: dict[str, Any], *, sites: tuple[str, ...] = ("*",)
) -> httpx.Response:
    return site.api.post(
        f"/v1/trials/{TRIAL}/subjects",
        json={"hospital_identifier": hospital_identifier(), **body},
        headers={**site.auth(Role.COORDINATOR, subject="nurse", sites=sites)},
    )


def test_a_subject_is_registered_at_the_site_named_or_the_protocol_first_site(
    site: Site,
) -> None:
    named = site.ok(register(site, {"site_id": "PUMCH"}), 201)
    assert named["site_id"] == "PUMCH"
    by_default = site.ok(register(site, {}), 201)
    assert by_default["site_id"] == "WCH"
    read = site.ok(
        site.api.get(f"/v1/subjects/{named['id']}", headers=site.as_(Role.MONITOR, "cra"))
    )
    assert read["site_id"] == "PUMCH"


def test_a_site_account_registers_at_its_own_site_only(site: Site) -> None:
    wch_nurse = ("WCH",)
    assert site.ok(register(site, {"site_id": "WCH"}, sites=wch_nurse), 201)["site_id"] == "WCH"
    refused = register(site, {"site_id": "PUMCH"}, sites=wch_nurse)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/site-not-authorised")
    unknown = register(site, {"site_id": "PKU"})
    assert unknown.status_code == 422, unknown.text
    assert "['WCH', 'PUMCH']" in unknown.json()["detail"]


def test_an_amendment_cannot_drop_a_site_that_has_subjects(site: Site) -> None:
    site.ok(register(site, {"site_id": "PUMCH"}), 201)
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    assert PUMCH_SITE in document
    without_pumch = document.replace(PUMCH_SITE, "").replace('version: "1.0"', 'version: "1.1"')
    read = site.api.get(f"/v1/trials/{TRIAL}", headers=site.as_(Role.MONITOR, "m"))
    response = site.api.put(
        f"/v1/trials/{TRIAL}/protocol",
        json={"protocol_yaml": without_pumch, "reason": "PUMCH withdrew"},
        headers=site.as_(Role.ADMIN, "admin", **{"If-Match": read.headers["ETag"]}),
    )
    assert response.status_code == 409, response.text
    assert response.json()["sites"] == ["PUMCH"]


def test_subject_events_name_the_subject_site(site: Site) -> None:
    subject_id = site.enrolled_subject()
    with site.sessions() as session:
        rows = session.execute(
            text(
                "SELECT event_type, envelope -> 'data' ->> 'site_id' FROM enrollment.outbox"
                " WHERE envelope -> 'data' ->> 'subject_id' = :subject"
            ),
            {"subject": subject_id},
        ).all()
    assert {event_type for event_type, _ in rows} >= {
        "enrollment.subject.screened",
        "enrollment.subject.enrolled",
    }
    assert {site_id for _, site_id in rows} == {"WCH"}


WCH_MRN_SYSTEM = "urn:oid:1.2.156.112604.1.2.1"


def test_a_subject_is_not_registered_without_a_hospital_identifier(site: Site) -> None:
    before = site.row_counts()
    response = site.api.post(
        f"/v1/trials/{TRIAL}/subjects", json={}, headers=site.as_(Role.COORDINATOR, "nurse")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "hospital_identifier" in response.text
    assert site.row_counts() == before


def test_every_alias_of_a_site_identifier_system_names_the_same_person(site: Site) -> None:
    first = site.ok(
        register(site, {"hospital_identifier": {"system": "MRN", "value": "wch-0042"}}), 201
    )
    for system in (WCH_MRN_SYSTEM, "mrn", " ＭＲＮ ", "1.2.156.112604.1.2.1"):
        again = register(site, {"hospital_identifier": {"system": system, "value": "WCH-0042"}})
        assert again.status_code == 409, (system, again.text)
        assert again.json()["subject_id"] == first["id"]


def test_a_system_the_site_does_not_declare_is_refused_with_the_site_systems(
    site: Site,
) -> None:
    before = site.row_counts()
    refused = register(site, {"hospital_identifier": {"system": "SSN", "value": "123-45"}})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert "SSN" in problem["detail"]
    assert WCH_MRN_SYSTEM in problem["detail"]
    assert site.row_counts() == before
    # PUMCH declares no identifier systems: any system is taken as it is named.
    accepted = register(
        site, {"site_id": "PUMCH", "hospital_identifier": {"system": "SSN", "value": "123-45"}}
    )
    assert accepted.status_code == 201, accepted.text
