"""Each refusal of the acceptance list is its own 4xx problem+json and changes nothing stored
(not even the audit trail, the outbox or an idempotency key)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doseline.auth import Role
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS

from .conftest import TRIAL, Site, eligible_answers


def refused(site: Site, request: Callable[[], Any], status: int, slug: str) -> dict[str, Any]:
    before = site.row_counts()
    response = request()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["detail"]
    assert site.row_counts() == before
    return body


def test_enrolment_before_consent_is_refused(site: Site) -> None:
    subject_id = site.register()
    site.screen(subject_id)
    body = refused(site, lambda: site.enrol(subject_id), 409, "consent-required")
    assert "consent" in body["detail"]


def test_an_ineligible_subject_is_not_enrolled(site: Site) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    answers = eligible_answers(site.site_day(-25), site.site_day(-20))
    answers["INC-01"] = {"value": False}
    screening = site.screen(subject_id, answers)
    assert screening["status"] == "ineligible"
    body = refused(site, lambda: site.enrol(subject_id), 409, "not-eligible")
    assert any("INC-01" in reason for reason in body["reasons"])


@pytest.mark.parametrize("kg", ["20", "250.5"])
def test_a_weight_outside_the_plausible_range_is_refused(site: Site, kg: str) -> None:
    subject_id = site.enrolled_subject()
    body = refused(site, lambda: site.weigh(subject_id, kg=kg), 422, "weight-not-usable")
    assert "plausible range" in body["detail"]


def test_a_weight_older_than_seven_days_before_the_first_infusion_is_refused(
    site: Site,
) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id, offset_days=-20), 201)
    body = refused(site, lambda: site.prepare(subject_id, 1), 422, "weight-not-usable")
    assert "at most 7 days" in body["detail"]


def test_a_fifth_infusion_is_refused(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.treat(subject_id)
    refused(site, lambda: site.prepare(subject_id, 5), 409, "infusion-count-exceeded")
    body = refused(
        site, lambda: site.infuse(subject_id, -1, "2.06e7"), 409, "infusion-count-exceeded"
    )
    assert "4 infusions" in body["detail"]


def test_the_preparer_cannot_verify_their_own_dose(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id), 201)
    prepared = site.prepare(subject_id, 1)
    site.ok(prepared, 201)
    refused(site, lambda: site.verify(prepared, person="pharm-zhao"), 403, "verifier-is-preparer")


def test_an_infusion_without_a_verified_dose_is_refused(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id), 201)
    prepared = site.prepare(subject_id, 1)
    site.ok(prepared, 201)
    refused(
        site,
        lambda: site.infuse(subject_id, -12, prepared.json()["dose_cells"]),
        409,
        "dose-not-verified",
    )


@pytest.fixture
def pending_decision(site: Site) -> dict[str, Any]:
    """Cohort 1 treated, its DLT windows closed by the job: a decision awaits signatures."""
    for _ in range(3):
        site.treat(site.enrolled_subject())
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state: dict[str, Any] = site.escalation()
    assert state["pending_decision"] is not None, state
    return state


def sign(
    site: Site, state: dict[str, Any], role: Role, person: str, *roles: Role, **token: Any
) -> Any:
    headers = {
        **site.auth(role, *roles, subject=person, **token),
        "Idempotency-Key": f"sign-{person}-{role.value}",
    }
    return site.api.post(
        f"/v1/trials/{TRIAL}/escalation/decisions/{state['pending_decision']['id']}/signatures",
        json={
            "role": role.value,
            "meaning": "I approve escalation to dose level 2",
            "state_hash": state["state_hash"],
        },
        headers=headers,
    )


def test_one_person_cannot_sign_as_both_investigator_and_safety_physician(
    site: Site, pending_decision: dict[str, Any]
) -> None:
    site.ok(sign(site, pending_decision, Role.INVESTIGATOR, "dr-li", Role.SAFETY_PHYSICIAN), 201)
    refused(
        site,
        lambda: sign(site, pending_decision, Role.SAFETY_PHYSICIAN, "dr-li", Role.INVESTIGATOR),
        409,
        "same-signer",
    )


def test_the_next_cohort_does_not_open_before_both_signatures(
    site: Site, pending_decision: dict[str, Any]
) -> None:
    def open_next() -> Any:
        return site.api.post(
            f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")
        )

    body = refused(site, open_next, 409, "escalation-gate-closed")
    assert "investigator and the safety_physician" in body["detail"]
    site.ok(sign(site, pending_decision, Role.INVESTIGATOR, "dr-li"), 201)
    body = refused(site, open_next, 409, "escalation-gate-closed")
    assert "safety_physician" in body["detail"]
    site.ok(sign(site, pending_decision, Role.SAFETY_PHYSICIAN, "dr-chen"), 201)
    opened = site.ok(open_next(), 201)
    assert (opened["number"], opened["dose_level"], opened["slots"]) == (2, 2, 3)


def test_a_signature_needs_reauthentication_within_five_minutes(
    site: Site, pending_decision: dict[str, Any]
) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=6)
    refused(
        site,
        lambda: sign(site, pending_decision, Role.INVESTIGATOR, "dr-li", auth_time=stale),
        401,
        "reauthentication-required",
    )


def test_a_signature_on_a_stale_state_hash_is_refused_with_the_current_one(
    site: Site, pending_decision: dict[str, Any]
) -> None:
    stale = {**pending_decision, "state_hash": "f" * 64}
    body = refused(
        site, lambda: sign(site, stale, Role.INVESTIGATOR, "dr-li"), 409, "state-changed"
    )
    assert body["current_state_hash"] == pending_decision["state_hash"]


def test_an_edit_with_a_stale_etag_is_refused(site: Site) -> None:
    subject_id = site.register()
    first = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
    site.consent(subject_id)

    def stale_edit() -> Any:
        return site.api.patch(
            f"/v1/subjects/{subject_id}",
            json={"consent_signed_on": site.site_day(-21).isoformat(), "reason": "typo"},
            headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": first.headers["ETag"]}),
        )

    body = refused(site, stale_edit, 412, "stale-etag")
    assert body["current_etag"] != first.headers["ETag"]


def test_an_edit_without_if_match_is_refused(site: Site) -> None:
    subject_id = site.register()
    refused(
        site,
        lambda: site.api.patch(
            f"/v1/subjects/{subject_id}",
            json={"consent_signed_on": site.site_day(-21).isoformat()},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        428,
        "if-match-required",
    )


def test_correcting_the_consent_date_needs_a_reason(site: Site) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
    refused(
        site,
        lambda: site.api.patch(
            f"/v1/subjects/{subject_id}",
            json={"consent_signed_on": site.site_day(-21).isoformat()},
            headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": read.headers["ETag"]}),
        ),
        422,
        "invalid-input",
    )


def test_a_monitor_cannot_enrol(site: Site) -> None:
    subject_id = site.eligible_subject()
    refused(
        site,
        lambda: site.api.post(
            f"/v1/trials/{TRIAL}/enrolments",
            json={"subject_id": subject_id},
            headers=site.as_(Role.MONITOR, "cra"),
        ),
        403,
        "forbidden",
    )


def test_enrolment_waits_for_the_investigators_sign_off(site: Site) -> None:
    subject_id = site.register()
    site.consent(subject_id)
    screening = site.screen(subject_id)
    refused(site, lambda: site.enrol(subject_id), 409, "eligibility-not-signed-off")
    coordinator_sign_off = site.api.post(
        f"/v1/subjects/{subject_id}/screenings/{screening['id']}/sign-off",
        headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": screening["etag"]}),
    )
    assert coordinator_sign_off.status_code == 403
    signed = site.ok(site.sign_off(subject_id, screening))
    assert signed["signed_off_by"] == "dr-li <dr-li>"
    site.ok(site.enrol(subject_id), 201)


def test_an_incomplete_screening_cannot_be_signed_off(site: Site) -> None:
    subject_id = site.register()
    screening = site.screen(subject_id, {"INC-01": {"value": True}})
    refused(site, lambda: site.sign_off(subject_id, screening), 409, "screening-incomplete")
