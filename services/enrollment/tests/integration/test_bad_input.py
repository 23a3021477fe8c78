"""Bad input on every endpoint is a 4xx problem+json that says what to fix, never a 500."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from doseline.auth import Role
from enrollment.protocol import PROTOCOLS_DIR

from .conftest import TRIAL, Site

ALL_ROLES = tuple(Role)

GARBAGE_BODIES: list[Any] = [
    {},
    {"subject_id": 7, "weight_kg": "heavy", "started_at": "yesterday", "answers": []},
    {"subject_id": "x" * 500, "infusion_number": -1, "state_hash": "short", "role": "king"},
    [1, 2, 3],
    "not an object",
]


def _concrete(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.mark.parametrize(
    "path_value", ["HDMSC-RP-01", "nope", "7d3c1f2e-5b8a-4c6d-9e0f-1a2b3c4d5e6f"]
)
def test_no_endpoint_answers_garbage_with_a_server_error(site: Site, path_value: str) -> None:
    subject_id = site.enrolled_subject()
    headers = site.auth(*ALL_ROLES, subject="everyone")
    checked = 0
    for path, operations in site.api.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/v1/"):
            continue
        concrete = _concrete(path, subject_id if "{subject_id}" in path else path_value)
        for method in operations:
            bodies = GARBAGE_BODIES if method in {"post", "put", "patch"} else [None]
            for body in bodies:
                response = site.api.request(
                    method.upper(),
                    concrete,
                    json=body,
                    headers={**headers, "If-Match": '"v999"', "Idempotency-Key": str(uuid.uuid4())},
                )
                assert response.status_code < 500, (method, concrete, body, response.text)
                if response.status_code >= 400:
                    assert response.headers["content-type"] == "application/problem+json"
                    assert response.json()["detail"]
                checked += 1
    assert checked > 80


def test_a_request_body_that_is_not_json_is_a_400(site: Site) -> None:
    response = site.api.post(
        f"/v1/trials/{TRIAL}/enrolments",
        content=b"{not json",
        headers={**site.as_(Role.COORDINATOR, "nurse"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-json"


def test_an_invalid_protocol_document_names_the_offending_field(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    broken = document.replace('per_kg: "1.0e6"', 'per_kg: "-1"')
    response = site.api.post(
        "/v1/trials", json={"protocol_yaml": broken}, headers=site.as_(Role.ADMIN, "admin")
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "/problems/invalid-protocol"
    assert "dose_escalation.dose_levels[1].per_kg" in body["detail"]


def test_a_protocol_given_as_a_file_name_is_refused(site: Site) -> None:
    response = site.api.post(
        "/v1/trials",
        json={"protocol_yaml": "/etc/passwd.yaml"},
        headers=site.as_(Role.ADMIN, "admin"),
    )
    assert response.status_code == 422
    assert "YAML document itself" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"protocol_yaml": None, "shipped_protocol": None},
        {"protocol_yaml": "trial: {}", "shipped_protocol": "hdmsc-rp-01"},
    ],
)
def test_a_trial_takes_its_protocol_inline_or_by_name_never_both_nor_neither(
    site: Site, body: dict[str, Any]
) -> None:
    response = site.api.post("/v1/trials", json=body, headers=site.as_(Role.ADMIN, "a"))
    assert response.status_code == 422, response.text
    assert "exactly one of protocol_yaml and shipped_protocol" in response.json()["detail"]
    schema = site.api.get("/openapi.json").json()["components"]["schemas"]["TrialCreate"]
    assert [branch["required"] for branch in schema["oneOf"]] == [
        ["protocol_yaml"],
        ["shipped_protocol"],
    ]


def test_an_unknown_shipped_protocol_is_a_404(site: Site) -> None:
    response = site.api.post(
        "/v1/trials", json={"shipped_protocol": "no-such-trial"}, headers=site.as_(Role.ADMIN, "a")
    )
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/protocol-not-found"


def test_the_same_trial_cannot_be_created_twice(site: Site) -> None:
    response = site.api.post(
        "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=site.as_(Role.ADMIN, "a")
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/trial-exists"


def test_an_answer_to_a_criterion_the_protocol_lacks_is_refused(site: Site) -> None:
    subject_id = site.register()
    response = site.api.post(
        f"/v1/subjects/{subject_id}/screenings",
        json={"screened_on": site.site_day(-1).isoformat(), "answers": {"INC-99": {"value": True}}},
        headers=site.as_(Role.COORDINATOR, "nurse"),
    )
    assert response.status_code == 422
    assert "INC-99" in response.json()["detail"]


def test_a_missing_answer_makes_the_screening_incomplete_not_ineligible(site: Site) -> None:
    subject_id = site.register()
    answers = {"INC-01": {"value": True}}
    screening = site.screen(subject_id, answers)
    assert screening["status"] == "incomplete"
    failures = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/screen-failures", headers=site.as_(Role.MONITOR, "m"))
    )
    assert failures == []


def test_an_infusion_time_without_an_offset_is_refused(site: Site) -> None:
    subject_id = site.enrolled_subject()
    response = site.api.post(
        f"/v1/subjects/{subject_id}/infusions",
        json={"started_at": "2026-11-20T09:00:00", "dose_given_cells": "1e7", "product_lot": "L"},
        headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
    )
    assert response.status_code == 422
    assert "timezone" in response.json()["detail"]


def test_a_consent_date_in_the_future_is_refused(site: Site) -> None:
    subject_id = site.register()
    read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "m"))
    response = site.api.patch(
        f"/v1/subjects/{subject_id}",
        json={"consent_signed_on": site.site_day(3).isoformat()},
        headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": read.headers["ETag"]}),
    )
    assert response.status_code == 422
    assert "after today at the site" in response.json()["detail"]
