"""Every service does what its OpenAPI document says, operation by operation.

Schemathesis reads each app's document and sends every operation a bounded, reproducible set of
generated requests (derandomized: the same cases on every run) with a token holding every role
for every site, to the app in process over the test database. Each response must not be a server
error, must have a status the operation documents, in a media type documented for that status,
with a body that matches the documented schema.

The database holds a trial (the shipped HDMSC-RP-01, its protocol delivered to every service), a
subject screened, enrolled and infused (every service has heard of it), and a webhook
subscription; half the cases of an operation whose path names one of them name it, so that
generated bodies reach the service logic and not only the 404.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from doseline.auth import Role
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import EventPump, TokenFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 10
SERVICES = ("enrollment", "safety", "imaging", "notifications")
SHIPPED, TRIAL = "hdmsc-rp-01", "HDMSC-RP-01"
SITE_ZONE = ZoneInfo("Asia/Shanghai")  # the protocol's first site, West China Hospital


def _exercise(
    operation: Any, headers: dict[str, str], statuses: Counter[int], known: dict[str, str]
) -> tuple[int, str | None]:
    """Send `operation` its generated cases: how many were sent, and the first failure found."""
    sent = 0
    first_failure: list[str] = []
    path = {name: value for name, value in known.items() if f"{{{name}}}" in operation.path}
    cases = operation.as_strategy()
    if path:
        cases = cases | operation.as_strategy(path_parameters=path)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def send(case: Any) -> None:
        nonlocal sent
        sent += 1
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            if not first_failure:
                first_failure.append(str(failures))

    send()
    return sent, (first_failure[0] if first_failure else None)


def _site_day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).astimezone(SITE_ZONE).date().isoformat()


def _created(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response


def _seed(
    api: Callable[..., TestClient], auth: TokenFactory, deliver_events: EventPump
) -> dict[str, str]:
    """A trial every service knows, with a subject enrolled and infused, and a webhook
    subscription: their ids, by the path parameter that names them."""
    enrollment = api("enrollment")

    def as_(role: Role, person: str = "seed", **extra: str) -> dict[str, str]:
        return {**auth(role, subject=person, auth_time=datetime.now(UTC)), **extra}

    _created(
        enrollment.post("/v1/trials", json={"shipped_protocol": SHIPPED}, headers=as_(Role.ADMIN))
    )
    subject = _created(
        enrollment.post(
            f"/v1/trials/{TRIAL}/subjects",
            json={"hospital_identifier": hospital_identifier()},
            headers=as_(Role.COORDINATOR),
        )
    ).json()["id"]
    read = enrollment.get(f"/v1/subjects/{subject}", headers=as_(Role.MONITOR))
    _created(
        enrollment.patch(
            f"/v1/subjects/{subject}",
            json={"consent_signed_on": _site_day(-20)},
            headers=as_(Role.COORDINATOR, **{"If-Match": read.headers["ETag"]}),
        ),
        200,
    )
    answers = {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": _site_day(-25)},
        "INC-03": {"value": True, "evidence_grade": 2},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": _site_day(-20)},
    }
    screening = _created(
        enrollment.post(
            f"/v1/subjects/{subject}/screenings",
            json={"screened_on": _site_day(-19), "answers": answers},
            headers=as_(Role.COORDINATOR),
        )
    )
    _created(
        enrollment.post(
            f"/v1/subjects/{subject}/screenings/{screening.json()['id']}/sign-off",
            headers=as_(Role.INVESTIGATOR, **{"If-Match": screening.headers["ETag"]}),
        ),
        200,
    )
    _created(
        enrollment.post(
            f"/v1/trials/{TRIAL}/enrolments",
            json={"subject_id": subject},
            headers=as_(Role.COORDINATOR),
        )
    )
    _created(
        enrollment.post(
            f"/v1/subjects/{subject}/weights",
            json={"weight_kg": "62.5", "measured_on": _site_day(-5)},
            headers=as_(Role.COORDINATOR),
        )
    )
    prepared = _created(
        enrollment.post(
            f"/v1/subjects/{subject}/dose-preparations",
            json={"infusion_number": 1, "product_lot": "LOT-7", "first_infusion_on": _site_day(-3)},
            headers=as_(Role.PHARMACIST, "pharm-zhao"),
        )
    )
    preparation = prepared.json()
    _created(
        enrollment.post(
            f"/v1/dose-preparations/{preparation['id']}/verification",
            headers=as_(Role.PHARMACIST, "pharm-liu", **{"If-Match": prepared.headers["ETag"]}),
        ),
        200,
    )
    infusion = _created(
        enrollment.post(
            f"/v1/subjects/{subject}/infusions",
            json={
                "started_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
                "dose_given_cells": preparation["dose_cells"],
                "product_lot": "LOT-7",
            },
            headers=as_(Role.PHARMACIST, "pharm-zhao"),
        )
    ).json()
    notifications = api("notifications", allowed_target_networks=["127.0.0.0/8"])
    subscription = _created(
        notifications.post(
            "/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["#"], "sites": ["*"]},
            headers=as_(Role.ADMIN),
        )
    ).json()
    assert deliver_events() > 0
    events = notifications.get("/v1/events", headers=as_(Role.MONITOR)).json()["items"]
    return {
        "trial_id": TRIAL,
        "subject_id": str(subject),
        "screening_id": str(screening.json()["id"]),
        "preparation_id": str(preparation["id"]),
        "infusion_id": str(infusion["id"]),
        "subscription_id": str(subscription["id"]),
        "event_id": str(events[0]["id"]),
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_only_what_its_openapi_document_says(
    service: str,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    deliver_events: EventPump,
) -> None:
    known = _seed(api, auth, deliver_events)
    client = api(service)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = auth(*Role, subject="contract-probe", name="Contract Probe", sites=("*",))
    started = time.perf_counter()
    operations = cases = 0
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        sent, failure = _exercise(operation, headers, statuses, known)
        operations += 1
        cases += sent
        if failure is not None:
            failures[operation.label] = failure
    elapsed = time.perf_counter() - started
    summary = f"{service}: {operations} operations, {cases} cases, {elapsed:.1f} s"
    print(summary, dict(sorted(statuses.items())))  # noqa: T201
    assert operations >= 10
    assert failures == {}, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
