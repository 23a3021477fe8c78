"""A safety desk working through the API: the CTCAE dictionary, enrolled subjects, tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.contracts.protocol import ProtocolActivated
from doseline.events import EventContract
from doseline.testing import facts
from doseline.testing.plugin import TokenFactory
from enrollment.protocol import Protocol, load_protocol, load_shipped_protocol
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.dictionary.spreadsheet import read_ctcae
from safety.dictionary.terms import CtcaeDictionary
from safety.protocols import tasks as protocol_tasks
from safety.subjects import tasks

TRIAL = facts.TRIAL
SITE_ZONE = "Asia/Shanghai"
WORKBOOK = "CTCAE_v5.0_2017-11-27.xlsx"
PNEUMONITIS = "10035742"
HYPOXIA = "10021143"
RESPIRATORY_FAILURE = "10038695"


def site_today() -> date:
    """Today at the site: onset dates are the site's calendar dates."""
    return datetime.now(ZoneInfo(SITE_ZONE)).date()


@pytest.fixture(scope="session")
def ctcae_v5() -> CtcaeDictionary:
    return read_ctcae(shipped.workbook(), version="5.0")


@dataclass
class Desk:
    """The safety service as its users see it, plus the events enrollment would send."""

    client: TestClient
    auth: TokenFactory
    db: sessionmaker[Session]

    def as_(self, role: Role, person: str = "dr-li", **extra: str) -> dict[str, str]:
        return {
            **self.auth(role, subject=person, auth_time=datetime.now(UTC)),
            "Idempotency-Key": str(uuid.uuid4()),
            **extra,
        }

    def deliver(self, contract: EventContract, handler: Callable[[Session, Any], None]) -> None:
        envelope = contract.envelope(
            source="urn:doseline:enrollment", subject=None, correlation_id="test"
        )
        with self.db() as session, session.begin():
            handler(session, envelope)

    def activate(
        self,
        protocol: Protocol,
        *,
        sequence: int,
        effective_from: date | None = None,
        reason: str | None = None,
    ) -> None:
        """Enrollment's event for a protocol version coming into force (as trials/service.py)."""
        self.deliver(
            ProtocolActivated(
                trial_id=TRIAL,
                protocol_id=protocol.protocol.id,
                protocol_version=protocol.protocol.version,
                content_hash=protocol.content_hash,
                sequence=sequence,
                activation="initial" if sequence == 1 else "amendment",
                effective_from=effective_from,
                activated_at=datetime.now(UTC),
                reason=reason,
                rules=protocol.trial_rules(),
            ),
            protocol_tasks.on_protocol_activated,
        )

    def enrol(self, subject_id: str, *, hashes: list[str] | None = None) -> None:
        self.deliver(
            SubjectEnrolled(
                trial_id=TRIAL,
                subject_id=subject_id,
                site_id="WCH",
                cohort_number=1,
                dose_level=1,
                enrolled_at=datetime.now(UTC) - timedelta(days=60),
                protocol_version="1.0",
                site_time_zone=SITE_ZONE,
                hospital_id_hashes=hashes or [],
            ),
            tasks.on_subject_enrolled,
        )

    def infuse(self, subject_id: str, *, day1: date, number: int = 1) -> None:
        self.deliver(
            facts.infused(
                subject_id,
                day1=day1,
                number=number,
                administered_at=datetime.combine(day1, datetime.min.time(), UTC)
                + timedelta(days=3 * (number - 1), hours=2),
                trial_id=TRIAL,
            ),
            tasks.on_infusion_administered,
        )

    def baseline(self, subject_id: str, pneumonitis_grade: int) -> None:
        current = self.client.get(f"/v1/subjects/{subject_id}", headers=self.as_(Role.INVESTIGATOR))
        assert current.status_code == 200, current.text
        response = self.client.put(
            f"/v1/subjects/{subject_id}/baseline",
            json={"pneumonitis_grade": pneumonitis_grade, "oxygen_use": False, "conditions": []},
            headers={**self.as_(Role.INVESTIGATOR), "If-Match": current.headers["ETag"]},
        )
        assert response.status_code == 200, response.text

    def report(self, status: int = 201, **overrides: Any) -> dict[str, Any]:
        response = self.client.post(
            "/v1/adverse-events", json=ae_body(**overrides), headers=self.as_(Role.INVESTIGATOR)
        )
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body


def ae_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_id": "HDMSC-RP-01-001",
        "term_code": PNEUMONITIS,
        "verbatim": "worsening radiation pneumonitis, oxygen started",
        "onset_date": (site_today() - timedelta(days=2)).isoformat(),
        "grade": 3,
        "attribution": "possible",
        "action_taken": "dose_not_changed",
        "outcome": "not_recovered_not_resolved",
    }
    body.update(overrides)
    return body


@pytest.fixture
def desk(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    ctcae_v5: CtcaeDictionary,
) -> Iterator[Desk]:
    factory = sessions("safety")
    with factory() as session, session.begin():
        catalogue.store_dictionary(
            session,
            ctcae_v5,
            source_file=WORKBOOK,
            source_sha256=catalogue.file_sha256(shipped.workbook()),
            replace=False,
            actor="test <fixture>",
        )
    desk = Desk(client=api("safety"), auth=auth, db=factory)
    # The trial's protocol, as enrollment publishes it when the trial is created: the only
    # source of the DLT rules safety applies.
    desk.activate(SHIPPED_PROTOCOL, sequence=1)
    yield desk


SHIPPED_PROTOCOL = load_shipped_protocol("hdmsc-rp-01")


def amended(protocol: Protocol, version: str, edit: Callable[[dict[str, Any]], None]) -> Protocol:
    """A copy of ``protocol`` with a new version string and ``edit`` applied to its document."""
    document = protocol.model_dump(mode="json")
    document["protocol"]["version"] = version
    edit(document)

    return load_protocol(yaml.safe_dump(document, allow_unicode=True))
