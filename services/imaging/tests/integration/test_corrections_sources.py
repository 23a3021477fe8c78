"""Corrections are made where the record came from: uploads and FHIR results are not edited."""

from __future__ import annotations

from datetime import timedelta

from doseline.auth import Role

from .conftest import DAY_1, SUBJECT, Desk, at_site
from .test_fhir_observations import gas_panel


def test_a_fhir_result_is_corrected_by_a_new_observation_version_not_by_hand(desk: Desk) -> None:
    desk.enrol()
    received = desk.client.post(
        "/v1/fhir/Observation", json=gas_panel(), headers=desk.auth(Role.EHR_INTEGRATION)
    )
    assert received.status_code == 201, received.text
    response = desk.client.post(
        f"/v1/assessments/{received.json()['id']}/corrections",
        json={
            "reason": "typo",
            "values": {
                "ph": 7.4,
                "pao2": 80,
                "paco2": 40,
                "fio2": 0.21,
                "performed_at": at_site(DAY_1 - timedelta(days=1)),
            },
        },
        headers={**desk.as_(), "If-Match": '"v1"'},
    )
    assert response.status_code == 409
    assert "new Observation version" in response.json()["detail"]
    assert SUBJECT in received.json()["subject_id"]
