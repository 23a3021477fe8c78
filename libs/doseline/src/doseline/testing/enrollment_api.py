"""A subject of HDMSC-RP-01 treated through enrollment's HTTP API, as the site's staff would: for
end-to-end tests whose subject must be known to every service the way production learns it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from doseline import sitetime
from doseline.auth import Role
from doseline.testing.facts import SITE_TIME_ZONE, TRIAL
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import TokenFactory

# Days between two infusions in the shipped protocol's schedule.
INFUSION_INTERVAL_DAYS = 3


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, response.text
    return response.json()


def staff_headers(auth: TokenFactory, role: Role, person: str, **extra: str) -> dict[str, str]:
    """A named person's token, freshly authenticated (signatures need it), and an idempotency
    key."""
    return {
        **auth(role, subject=person, auth_time=datetime.now(UTC)),
        "Idempotency-Key": str(uuid.uuid4()),
        **extra,
    }


def site_day(offset: int) -> date:
    """The site's calendar day `offset` days from now."""
    return sitetime.site_today(SITE_TIME_ZONE, datetime.now(UTC) + timedelta(days=offset))


def treat(
    client: Any,
    auth: TokenFactory,
    *,
    day1_offset: int,
    infusions: int,
    age: int,
    weight_kg: str,
    product_lot: str,
) -> str:
    """Register, consent, screen, enrol and weigh a subject, then give `infusions` dual-verified
    infusions from day 1 (`day1_offset` days from now) on the protocol's schedule; returns the
    subject's id."""
    nurse = staff_headers(auth, Role.COORDINATOR, "nurse-wang")
    registration = {"hospital_identifier": hospital_identifier()}
    sid = str(
        ok(client.post(f"/v1/trials/{TRIAL}/subjects", json=registration, headers=nurse), 201)["id"]
    )
    read = client.get(f"/v1/subjects/{sid}", headers=nurse)
    ok(
        client.patch(
            f"/v1/subjects/{sid}",
            json={"consent_signed_on": site_day(day1_offset - 8).isoformat()},
            headers={**nurse, "If-Match": read.headers["ETag"]},
        )
    )
    answers = {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": site_day(day1_offset - 12).isoformat()},
        "INC-03": {"value": True, "evidence_grade": 1},
        "INC-04": {"value": True},
        "INC-05": {"value": age},
        "INC-06": {"value": True, "evidence_date": site_day(day1_offset - 8).isoformat()},
    }
    screened = client.post(
        f"/v1/subjects/{sid}/screenings",
        json={"screened_on": site_day(day1_offset - 7).isoformat(), "answers": answers},
        headers=staff_headers(auth, Role.COORDINATOR, "nurse-wang"),
    )
    screening = ok(screened, 201)
    assert screening["status"] == "eligible", screening
    ok(
        client.post(
            f"/v1/subjects/{sid}/screenings/{screening['id']}/sign-off",
            headers=staff_headers(
                auth, Role.INVESTIGATOR, "dr-li", **{"If-Match": screened.headers["ETag"]}
            ),
        )
    )
    ok(
        client.post(
            f"/v1/trials/{TRIAL}/enrolments",
            json={"subject_id": sid},
            headers=staff_headers(auth, Role.COORDINATOR, "nurse-wang"),
        ),
        201,
    )
    ok(
        client.post(
            f"/v1/subjects/{sid}/weights",
            json={"weight_kg": weight_kg, "measured_on": site_day(day1_offset - 2).isoformat()},
            headers=staff_headers(auth, Role.COORDINATOR, "nurse-wang"),
        ),
        201,
    )
    for number in range(1, infusions + 1):
        _infuse(
            client,
            auth,
            sid,
            number=number,
            day1_offset=day1_offset,
            product_lot=product_lot,
        )
    return sid


def _infuse(
    client: Any, auth: TokenFactory, sid: str, *, number: int, day1_offset: int, product_lot: str
) -> None:
    """Prepare the dose, have a second pharmacist verify it, and record the infusion."""
    prepared = client.post(
        f"/v1/subjects/{sid}/dose-preparations",
        json={
            "infusion_number": number,
            "product_lot": product_lot,
            "first_infusion_on": site_day(day1_offset).isoformat(),
        },
        headers=staff_headers(auth, Role.PHARMACIST, "pharm-zhao"),
    )
    preparation = ok(prepared, 201)
    ok(
        client.post(
            f"/v1/dose-preparations/{preparation['id']}/verification",
            headers=staff_headers(
                auth, Role.PHARMACIST, "pharm-liu", **{"If-Match": prepared.headers["ETag"]}
            ),
        )
    )
    given = day1_offset + INFUSION_INTERVAL_DAYS * (number - 1)
    ok(
        client.post(
            f"/v1/subjects/{sid}/infusions",
            json={
                "started_at": (datetime.now(UTC) + timedelta(days=given)).isoformat(),
                "dose_given_cells": preparation["dose_cells"],
                "product_lot": product_lot,
            },
            headers=staff_headers(auth, Role.PHARMACIST, "pharm-zhao"),
        ),
        201,
    )
