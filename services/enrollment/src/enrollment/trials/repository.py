"""Queries of trials and protocol versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.trials.models import ProtocolVersionRow, Trial


def get_trial(session: Session, trial_id: str, *, for_update: bool = False) -> Trial | None:
    statement = select(Trial).where(Trial.id == trial_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def list_trials(session: Session) -> list[Trial]:
    return list(session.scalars(select(Trial).order_by(Trial.id)))


def get_protocol_version(session: Session, version_id: object) -> ProtocolVersionRow:
    row = session.get(ProtocolVersionRow, version_id)
    if row is None:
        raise LookupError(f"protocol version {version_id} is missing")
    return row


def find_protocol_version(
    session: Session, *, protocol_id: str, content_hash: str
) -> ProtocolVersionRow | None:
    return session.scalars(
        select(ProtocolVersionRow).where(
            ProtocolVersionRow.protocol_id == protocol_id,
            ProtocolVersionRow.content_hash == content_hash,
        )
    ).first()


def protocol_versions_of(session: Session, protocol_id: str) -> list[ProtocolVersionRow]:
    return list(
        session.scalars(
            select(ProtocolVersionRow)
            .where(ProtocolVersionRow.protocol_id == protocol_id)
            .order_by(ProtocolVersionRow.loaded_at)
        )
    )
