"""Queries of adverse events and their versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from doseline import pagination
from doseline.auth import Principal
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.subjects.scope import subject_in_scope


def adverse_event(
    session: Session, ae_id: uuid.UUID, *, lock: bool = False
) -> AdverseEventRow | None:
    query = select(AdverseEventRow).where(AdverseEventRow.id == ae_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def version(session: Session, ae_id: uuid.UUID, number: int) -> AdverseEventVersionRow:
    row = session.get(AdverseEventVersionRow, (ae_id, number))
    if row is None:  # pragma: no cover - versions are written with their event
        raise LookupError(f"adverse event {ae_id} has no version {number}")
    return row


def versions(session: Session, ae_id: uuid.UUID) -> Sequence[AdverseEventVersionRow]:
    return session.scalars(
        select(AdverseEventVersionRow)
        .where(AdverseEventVersionRow.ae_id == ae_id)
        .order_by(AdverseEventVersionRow.number)
    ).all()


def page(
    session: Session,
    *,
    trial_id: str | None,
    subject_id: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
    principal: Principal | None = None,
) -> Sequence[AdverseEventRow]:
    """Adverse events in the order they were reported, `limit` of them after the `after` key."""
    query = select(AdverseEventRow).where(
        subject_in_scope(AdverseEventRow.subject_id, principal),
        pagination.after(after, AdverseEventRow.created_at, AdverseEventRow.id),
    )
    if trial_id is not None:
        query = query.where(AdverseEventRow.trial_id == trial_id)
    if subject_id is not None:
        query = query.where(AdverseEventRow.subject_id == subject_id)
    return session.scalars(
        query.order_by(AdverseEventRow.created_at, AdverseEventRow.id).limit(limit)
    ).all()


def current_versions(
    session: Session, rows: Sequence[AdverseEventRow]
) -> dict[uuid.UUID, AdverseEventVersionRow]:
    """The current version of each adverse event, in one query."""
    if not rows:
        return {}
    found = session.scalars(
        select(AdverseEventVersionRow)
        .join(
            AdverseEventRow,
            and_(
                AdverseEventRow.id == AdverseEventVersionRow.ae_id,
                AdverseEventRow.current_version == AdverseEventVersionRow.number,
            ),
        )
        .where(AdverseEventRow.id.in_([row.id for row in rows]))
    )
    return {version.ae_id: version for version in found}


def of_subject(session: Session, subject_id: str) -> Sequence[AdverseEventRow]:
    return session.scalars(
        select(AdverseEventRow)
        .where(AdverseEventRow.subject_id == subject_id)
        .order_by(AdverseEventRow.created_at, AdverseEventRow.id)
        .with_for_update()
    ).all()


def overdue_unraised(session: Session, now: datetime) -> Sequence[AdverseEventRow]:
    """Serious events whose clock ran out, not reported and not yet announced; locked."""
    return session.scalars(
        select(AdverseEventRow)
        .where(
            AdverseEventRow.serious.is_(True),
            AdverseEventRow.reported_to_sponsor_at.is_(None),
            AdverseEventRow.overdue_raised_at.is_(None),
            AdverseEventRow.report_due_at <= now,
        )
        .order_by(AdverseEventRow.report_due_at)
        .with_for_update(skip_locked=True)
    ).all()


def overdue(
    session: Session, *, trial_id: str | None, now: datetime, principal: Principal | None = None
) -> Sequence[AdverseEventRow]:
    query = select(AdverseEventRow).where(
        subject_in_scope(AdverseEventRow.subject_id, principal),
        AdverseEventRow.serious.is_(True),
        AdverseEventRow.reported_to_sponsor_at.is_(None),
        AdverseEventRow.report_due_at <= now,
    )
    if trial_id is not None:
        query = query.where(AdverseEventRow.trial_id == trial_id)
    return session.scalars(query.order_by(AdverseEventRow.report_due_at)).all()


def disagreements(
    session: Session, trial_id: str, principal: Principal | None = None
) -> Sequence[tuple[AdverseEventRow, AdverseEventVersionRow]]:
    rows = session.execute(
        select(AdverseEventRow, AdverseEventVersionRow)
        .join(
            AdverseEventVersionRow,
            and_(
                AdverseEventVersionRow.ae_id == AdverseEventRow.id,
                AdverseEventVersionRow.number == AdverseEventRow.current_version,
            ),
        )
        .where(
            AdverseEventRow.trial_id == trial_id,
            subject_in_scope(AdverseEventRow.subject_id, principal),
            AdverseEventVersionRow.proposed_grade.is_not(None),
            AdverseEventVersionRow.proposed_grade != AdverseEventVersionRow.grade,
        )
        .order_by(AdverseEventRow.created_at, AdverseEventRow.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def ids_of_trial(session: Session, trial_id: str) -> list[uuid.UUID]:
    """The ids of every adverse event of a trial, oldest first (not locked)."""
    return list(
        session.scalars(
            select(AdverseEventRow.id)
            .where(AdverseEventRow.trial_id == trial_id)
            .order_by(AdverseEventRow.created_at, AdverseEventRow.id)
        ).all()
    )
