"""An outcomes desk working through the imaging API, with the events enrollment would send."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.events import EventContract
from doseline.identity import hospital_id_hash
from doseline.testing import facts
from doseline.testing.plugin import TokenFactory
from imaging.manifest import bootstrap
from imaging.settings import ImagingSettings
from imaging.subjects import tasks

TRIAL = facts.TRIAL
SITE_ZONE = "Asia/Shanghai"
SUBJECT = "HDMSC-RP-01-001"
# Day 1 of the first subject; infusions on days 1, 4, 7, 10 (PROTOCOL.md treatment schedule).
DAY_1 = date(2026, 1, 5)
LAST_INFUSION_DAY = DAY_1 + timedelta(days=9)


def at_site(day: date, hour: int = 10) -> str:
    """An ISO timestamp with the site's offset, for `performed_at`."""
    return datetime.combine(day, time(hour), ZoneInfo(SITE_ZONE)).isoformat()


@dataclass
class Desk:
    client: TestClient
    auth: TokenFactory
    db: sessionmaker[Session]
    settings: ImagingSettings

    def as_(self, role: Role = Role.OUTCOMES_ASSESSOR, person: str = "rn-wang") -> dict[str, str]:
        return {**self.auth(role, subject=person), "Idempotency-Key": str(uuid.uuid4())}

    def deliver(self, contract: EventContract, handler: Callable[[Session, Any], None]) -> None:
        envelope = contract.envelope(
            source="urn:doseline:enrollment", subject=None, correlation_id="test"
        )
        with self.db() as session, session.begin():
            handler(session, envelope)

    def enrol(
        self,
        subject_id: str = SUBJECT,
        *,
        dose_level: int = 1,
        hospital_ids: Sequence[tuple[str, str]] = (),
        sex: Literal["female", "male"] | None = None,
        birth_date: date | None = None,
        height_cm: float | None = None,
    ) -> None:
        """Enrolment as enrollment announces it, with the keyed hashes of the subject's hospital
        identifiers (system, value) and the facts recorded at screening when given."""
        key = self.settings.identifier_hash_key.get_secret_value()
        self.deliver(
            SubjectEnrolled(
                trial_id=TRIAL,
                subject_id=subject_id,
                site_id="WCH",
                cohort_number=dose_level,
                dose_level=dose_level,
                enrolled_at=datetime(2025, 12, 20, 2, tzinfo=UTC),
                protocol_version="1.0",
                site_time_zone=SITE_ZONE,
                hospital_id_hashes=[
                    hospital_id_hash(key, system=system, value=value)
                    for system, value in hospital_ids
                ],
                sex=sex,
                birth_date=birth_date,
                height_cm=height_cm,
            ),
            tasks.on_subject_enrolled,
        )

    def infuse(self, subject_id: str = SUBJECT, *, number: int, day1: date = DAY_1) -> None:
        given = datetime.combine(
            day1 + timedelta(days=3 * (number - 1)), time(9), ZoneInfo(SITE_ZONE)
        )
        self.deliver(
            facts.infused(
                subject_id, day1=day1, number=number, administered_at=given, trial_id=TRIAL
            ),
            tasks.on_infusion_administered,
        )

    def treat(self, subject_id: str = SUBJECT, *, day1: date = DAY_1) -> None:
        for number in (1, 2, 3, 4):
            self.infuse(subject_id, number=number, day1=day1)

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.as_())
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def desk(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    settings_for: Callable[..., ImagingSettings],
) -> Iterator[Desk]:
    factory = sessions("imaging")
    settings = settings_for("imaging")
    with factory() as session, session.begin():
        bootstrap(settings, session)
    yield Desk(client=api("imaging"), auth=auth, db=factory, settings=settings)
