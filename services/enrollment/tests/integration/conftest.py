"""A site working through the enrollment API: the trial, its people and their tokens."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from doseline.auth import Role
from doseline.settings import ServiceSettings
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import TokenFactory
from enrollment.settings import EnrollmentSettings

TRIAL = "HDMSC-RP-01"
SITE_ZONE = ZoneInfo("Asia/Shanghai")


def eligible_answers(ct_date: date, consent_date: date) -> dict[str, Any]:
    return {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": ct_date.isoformat()},
        "INC-03": {"value": True, "evidence_grade": 2},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": consent_date.isoformat()},
    }


@dataclass
class Site:
    api: httpx.Client  # in process (a TestClient), or over HTTP (`http`)
    app: ASGIApp
    settings: EnrollmentSettings
    auth: TokenFactory
    sessions: sessionmaker[Session]
    engine: Engine
    trial: str = TRIAL
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_(self, role: Role, person: str, **extra: str) -> dict[str, str]:
        return {
            **self.auth(role, subject=person, auth_time=datetime.now(UTC)),
            "Idempotency-Key": str(uuid.uuid4()),
            **extra,
        }

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def site_day(self, offset_days: int = 0) -> date:
        return (self.now + timedelta(days=offset_days)).astimezone(SITE_ZONE).date()

    def register(self) -> str:
        body = self.ok(
            self.api.post(
                f"/v1/trials/{self.trial}/subjects",
                json={"hospital_identifier": hospital_identifier()},
                headers=self.as_(Role.COORDINATOR, "nurse"),
            ),
            201,
        )
        return str(body["id"])

    def consent(self, subject_id: str, on: date | None = None) -> None:
        read = self.api.get(f"/v1/subjects/{subject_id}", headers=self.as_(Role.MONITOR, "cra"))
        self.ok(
            self.api.patch(
                f"/v1/subjects/{subject_id}",
                json={"consent_signed_on": (on or self.site_day(-20)).isoformat()},
                headers=self.as_(Role.COORDINATOR, "nurse", **{"If-Match": read.headers["ETag"]}),
            )
        )

    def screen(
        self,
        subject_id: str,
        answers: dict[str, Any] | None = None,
        subject_facts: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self.api.post(
            f"/v1/subjects/{subject_id}/screenings",
            json={
                "screened_on": self.site_day(-19).isoformat(),
                "answers": answers or eligible_answers(self.site_day(-25), self.site_day(-20)),
                **({"subject_facts": subject_facts} if subject_facts is not None else {}),
            },
            headers=self.as_(Role.COORDINATOR, "nurse"),
        )
        body: dict[str, Any] = self.ok(response, 201)
        body["etag"] = response.headers["ETag"]
        return body

    def sign_off(self, subject_id: str, screening: dict[str, Any]) -> Any:
        return self.api.post(
            f"/v1/subjects/{subject_id}/screenings/{screening['id']}/sign-off",
            headers=self.as_(Role.INVESTIGATOR, "dr-li", **{"If-Match": screening["etag"]}),
        )

    def eligible_subject(self) -> str:
        subject_id = self.register()
        self.consent(subject_id)
        self.ok(self.sign_off(subject_id, self.screen(subject_id)))
        return subject_id

    def enrol(self, subject_id: str) -> Any:
        return self.api.post(
            f"/v1/trials/{self.trial}/enrolments",
            json={"subject_id": subject_id},
            headers=self.as_(Role.COORDINATOR, "nurse"),
        )

    def enrolled_subject(self) -> str:
        subject_id = self.eligible_subject()
        self.ok(self.enrol(subject_id), 201)
        return subject_id

    def weigh(self, subject_id: str, kg: str = "62.5", offset_days: int = -14) -> Any:
        return self.api.post(
            f"/v1/subjects/{subject_id}/weights",
            json={"weight_kg": kg, "measured_on": self.site_day(offset_days).isoformat()},
            headers=self.as_(Role.COORDINATOR, "nurse"),
        )

    def prepare(self, subject_id: str, number: int, first_offset_days: int = -12) -> Any:
        return self.api.post(
            f"/v1/subjects/{subject_id}/dose-preparations",
            json={
                "infusion_number": number,
                "product_lot": "LOT-7",
                "first_infusion_on": self.site_day(first_offset_days).isoformat(),
            },
            headers=self.as_(Role.PHARMACIST, "pharm-zhao"),
        )

    def verify(self, prepared: Any, person: str = "pharm-liu") -> Any:
        return self.api.post(
            f"/v1/dose-preparations/{prepared.json()['id']}/verification",
            headers=self.as_(Role.PHARMACIST, person, **{"If-Match": prepared.headers["ETag"]}),
        )

    def infuse(self, subject_id: str, offset_days: int, cells: str) -> Any:
        return self.api.post(
            f"/v1/subjects/{subject_id}/infusions",
            json={
                "started_at": (self.now + timedelta(days=offset_days)).isoformat(),
                "dose_given_cells": cells,
                "product_lot": "LOT-7",
            },
            headers=self.as_(Role.PHARMACIST, "pharm-zhao"),
        )

    def treat(self, subject_id: str, days: tuple[int, ...] = (-12, -9, -6, -3)) -> None:
        self.ok(self.weigh(subject_id, offset_days=days[0] - 2), 201)
        for number, day in enumerate(days, start=1):
            prepared = self.prepare(subject_id, number, first_offset_days=days[0])
            self.ok(prepared, 201)
            self.ok(self.verify(prepared))
            self.ok(self.infuse(subject_id, day, prepared.json()["dose_cells"]), 201)

    def escalation(self) -> Any:
        return self.ok(
            self.api.get(
                f"/v1/trials/{self.trial}/escalation", headers=self.as_(Role.MONITOR, "cra")
            )
        )

    def row_counts(self) -> dict[str, int]:
        """Rows in every enrollment table, audit trail, outbox and idempotency keys included."""
        with self.engine.connect() as connection:
            tables = connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'enrollment'")
            ).all()
            return {
                table: int(
                    connection.scalar(text(f'SELECT count(*) FROM enrollment."{table}"')) or 0
                )
                for table in tables
            }


@pytest.fixture
def site(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    settings_for: Callable[..., ServiceSettings],
) -> Site:
    client = api("enrollment")
    settings = settings_for("enrollment")
    assert isinstance(settings, EnrollmentSettings)
    created = client.post(
        "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=auth(Role.ADMIN)
    )
    assert created.status_code == 201, created.text
    return Site(
        api=client,
        app=client.app,
        settings=settings,
        auth=auth,
        sessions=sessions("enrollment"),
        engine=clean_db,
    )


@pytest.fixture
def http(site: Site) -> Iterator[Site]:
    """The site, talking to the enrollment app behind uvicorn on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield replace(site, api=client)
    server.should_exit = True
    thread.join(timeout=10)
