"""The protocol versions a service received from enrollment: one table shape, one way to store
and read them, for every consumer of ``enrollment.protocol.activated`` (safety, imaging).

Each activation is stored once (a redelivery changes nothing) and audited; the version in force
at a date is chosen by ``doseline.contracts.protocol.in_force_at``. The caller takes whatever
locks its own writers need before storing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Date, DateTime, Integer, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from doseline import audit
from doseline.audit import canonical_json
from doseline.contracts.protocol import ProtocolActivated, SiteRules, TrialRules


class ProtocolVersionColumns:
    """The columns of a service's `protocol_versions` table (rows are never changed).

    ``sequence`` orders the activations of a trial (enrollment issues it); the version in force
    at a date is the latest-activated one whose ``effective_from`` is on or before it."""

    trial_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(80))
    activation: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


V = TypeVar("V", bound=ProtocolVersionColumns)


def store(session: Session, model: type[V], event: ProtocolActivated) -> V | None:
    """Store an activation and audit it; None when it had been received before."""
    inserted = session.execute(
        insert(model)
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
        .on_conflict_do_nothing(index_elements=["trial_id", "sequence"])
        .returning(model.sequence)
    ).first()
    if inserted is None:
        return None
    row = session.get(model, (event.trial_id, event.sequence))
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
            "activation": event.activation,
            "effective_from": event.effective_from,
        },
        reason=event.reason,
    )
    return row


def versions(session: Session, model: type[V], trial_id: str) -> list[V]:
    """Every version of the trial received so far, in activation order."""
    return list(
        session.scalars(
            select(model).where(model.trial_id == trial_id).order_by(model.sequence)
        ).all()
    )


@lru_cache(maxsize=128)
def _parse(rules_json: str) -> TrialRules:
    return TrialRules.model_validate_json(rules_json)


def rules_of(row: ProtocolVersionColumns) -> TrialRules:
    """The row's rules as the contract's model (parsed once per distinct content)."""
    return _parse(canonical_json(row.rules))


def sites_received(session: Session, model: type[V]) -> list[SiteRules]:
    """Every site of every version received, of every trial (each distinct site once): the
    identifier systems a hospital record may be matched under (doseline.identity)."""
    sites: list[SiteRules] = []
    for row in session.scalars(select(model).order_by(model.trial_id, model.sequence)):
        for site in rules_of(row).sites:
            if site not in sites:
                sites.append(site)
    return sites
