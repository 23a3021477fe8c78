"""Queries of trials and protocol versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

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


def trials_after(session: Session, *, after: str | None, limit: int) -> list[Trial]:
    query = select(Trial).order_by(Trial.id).limit(limit)
    if after is not None:
        query = query.where(Trial.id > after)
    return list(session.scalars(query))


def protocol_versions(
    session: Session, version_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProtocolVersionRow]:
    """Several protocol versions in one query, by id."""
    if not version_ids:
        return {}
    rows = session.scalars(
        select(ProtocolVersionRow).where(ProtocolVersionRow.id.in_(set(version_ids)))
    )
    return {row.id: row for row in rows}


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
