"""Sites: a subject is registered at one of the protocol's sites and keeps it."""

from __future__ import annotations

from sqlalchemy import text

from doseline.auth import Role
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


def register(site: Site, body: dict[str, str], *, sites: tuple[str, ...] = ("*",)) -> object:
    return site.api.post(
        f"/v1/trials/{TRIAL}/subjects",
        json=body,
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
    assert refused.status_code == 403, refused.text  # type: ignore[attr-defined]
    assert refused.json()["type"].endswith("/site-not-authorised")  # type: ignore[attr-defined]
    unknown = register(site, {"site_id": "PKU"})
    assert unknown.status_code == 422, unknown.text  # type: ignore[attr-defined]
    assert "['WCH', 'PUMCH']" in unknown.json()["detail"]  # type: ignore[attr-defined]


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
