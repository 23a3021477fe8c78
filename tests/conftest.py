"""Scenarios the cross-service tests share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from doseline import outbox
from doseline.contracts.protocol import ProtocolActivated
from doseline.testing import facts
from doseline.testing.plugin import EventPump
from enrollment.protocol import load_shipped_protocol
from safety.catalogue import service as catalogue
from safety.dictionary import shipped

TRIAL = facts.TRIAL
SITE_ZONE = facts.SITE_TIME_ZONE

EnrolAndInfuse = Callable[[str, EventPump], date]


@pytest.fixture
def enrol_and_infuse(sessions: Callable[[str], sessionmaker[Session]]) -> EnrolAndInfuse:
    """`enrol_and_infuse(subject_id, deliver_events)`: the CTCAE dictionary in safety, the trial's
    protocol, and the subject enrolled 50 days ago and infused 45 days ago, told to the other
    services by enrollment's own events through `deliver_events`. Returns the site date of
    day 1."""

    def scenario(subject_id: str, deliver_events: EventPump) -> date:
        with sessions("safety")() as session, session.begin():
            catalogue.import_file(
                session,
                shipped.workbook(),
                version=shipped.VERSION,
                replace=False,
                actor="test <fixture>",
            )
        day1 = datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=45)
        protocol = load_shipped_protocol("hdmsc-rp-01")
        with sessions("enrollment")() as session, session.begin():
            # The trial's protocol, as enrollment publishes it when the trial is created: the
            # DLT rules safety applies come from it alone.
            outbox.record_event(
                session,
                ProtocolActivated(
                    trial_id=TRIAL,
                    protocol_id=protocol.protocol.id,
                    protocol_version=protocol.protocol.version,
                    content_hash=protocol.content_hash,
                    sequence=1,
                    activation="initial",
                    effective_from=None,
                    activated_at=datetime.now(UTC) - timedelta(days=60),
                    rules=protocol.trial_rules(),
                ),
                subject=f"trials/{TRIAL}/protocol",
            )
            outbox.record_event(
                session,
                facts.enrolled(subject_id, enrolled_at=datetime.now(UTC) - timedelta(days=50)),
                subject=f"subjects/{subject_id}",
            )
        # Enrolment first, as enrollment sends it: the infusion names an enrolled subject.
        assert deliver_events() >= 1
        with sessions("enrollment")() as session, session.begin():
            outbox.record_event(
                session,
                facts.infused(subject_id, day1=day1),
                subject=f"subjects/{subject_id}",
            )
        assert deliver_events() >= 1
        return day1

    return scenario
