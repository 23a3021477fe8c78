"""Protocol versions received from enrollment, and the visit schedule in force at a date.

Enrollment publishes ``enrollment.protocol.activated`` whenever a protocol version comes into
force. Imaging stores each activation once and, whatever order they arrive in, places an
assessment with the visit schedule of the version in force on the day it was performed (of the
versions effective on or before that site date, the one activated last). A trial from which no
protocol version has arrived keeps the schedule registered through imaging's own API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline import audit
from doseline.audit import canonical_json
from doseline.contracts.protocol import ProtocolActivated, TrialRules, in_force_at
from imaging.protocols.models import ProtocolVersionRow
from imaging.schedule.visits import FollowUpVisit, VisitSchedule
from imaging.subjects import repository as subjects_repository


@lru_cache(maxsize=128)
def _parse(rules_json: str) -> TrialRules:
    return TrialRules.model_validate_json(rules_json)


def versions(session: Session, trial_id: str) -> list[ProtocolVersionRow]:
    return list(
        session.scalars(
            select(ProtocolVersionRow)
            .where(ProtocolVersionRow.trial_id == trial_id)
            .order_by(ProtocolVersionRow.sequence)
        ).all()
    )


def schedule_of(rules: TrialRules) -> VisitSchedule:
    """The follow-up visits of a protocol version (ids, months, windows) as imaging uses them."""
    return VisitSchedule(
        follow_up=tuple(
            FollowUpVisit(
                code=visit.id,
                months_after_last_infusion=visit.months_after_last_infusion,
                window_days=visit.window.before_days,
                window_after_days=visit.window.after_days,
            )
            for visit in rules.visits.follow_up
        )
    )


def schedule_in_force(session: Session, trial_id: str, on: date | None) -> VisitSchedule | None:
    """The visit schedule of the version in force on site date ``on`` (None: the version
    activated last); None when no protocol version of the trial has arrived."""
    row = in_force_at(versions(session, trial_id), on or date.max)
    return None if row is None else schedule_of(_parse(canonical_json(row.rules)))


def record(session: Session, event: ProtocolActivated) -> ProtocolVersionRow | None:
    """Store an activation; None when it had been received before (idempotent).

    The trial's subjects are locked first (the order every assessment writer locks in), so an
    assessment recorded meanwhile waits and is then placed with the new version."""
    subjects_repository.subjects_of_trial(session, event.trial_id, lock=True)
    inserted = session.execute(
        insert(ProtocolVersionRow)
        .values(
            trial_id=event.trial_id,
            sequence=event.sequence,
            protocol_id=event.protocol_id,
            protocol_version=event.protocol_version,
            content_hash=event.content_hash,
            activation=event.activation,
            effective_from=event.effective_from,
            activated_at=event.activated_at,
            reason=event.reason,
            rules=event.rules.model_dump(mode="json"),
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(
            index_elements=[ProtocolVersionRow.trial_id, ProtocolVersionRow.sequence]
        )
        .returning(ProtocolVersionRow.sequence)
    ).first()
    if inserted is None:
        return None
    row = session.get(ProtocolVersionRow, (event.trial_id, event.sequence))
    assert row is not None  # inserted above, in this transaction
    audit.record(
        session,
        actor="event <enrollment.protocol.activated>",
        action="protocol.received",
        entity_type="protocol_version",
        entity_id=f"{event.trial_id}#{event.sequence}",
        after={
            "protocol_version": event.protocol_version,
            "content_hash": event.content_hash,
            "effective_from": event.effective_from,
        },
        reason=event.reason,
    )
    return row
