"""Queries of received lab Observations and proposed adverse events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline import pagination
from doseline.auth import Principal
from safety.ehr.models import LabIntakeConflictRow, LabObservationRow, ProposedAdverseEventRow
from safety.subjects.scope import subject_in_scope


def observation(
    session: Session, source: str, observation_id: str, version_id: str
) -> LabObservationRow | None:
    return session.scalars(
        select(LabObservationRow).where(
            LabObservationRow.source == source,
            LabObservationRow.observation_id == observation_id,
            LabObservationRow.version_id == version_id,
        )
    ).first()


def pre_treatment_results(
    session: Session, subject_id: str, loinc: str, *, on_or_before: date, other_than: str
) -> Sequence[LabObservationRow]:
    """A subject's results of one test up to a date, latest first (the baseline candidates)."""
    return session.scalars(
        select(LabObservationRow)
        .where(
            LabObservationRow.subject_id == subject_id,
            LabObservationRow.loinc == loinc,
            LabObservationRow.effective_on <= on_or_before,
            LabObservationRow.observation_id != other_than,
            LabObservationRow.status.in_(("final", "amended", "corrected")),
        )
        .order_by(LabObservationRow.effective_on.desc(), LabObservationRow.received_at.desc())
    ).all()


def received_keys(
    session: Session, source: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """Which of these (Observation id, version) pairs the sender sent before, with the content
    hash each was received with."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            LabObservationRow.observation_id,
            LabObservationRow.version_id,
            LabObservationRow.content_hash,
        ).where(
            LabObservationRow.source == source,
            tuple_(LabObservationRow.observation_id, LabObservationRow.version_id).in_(
                sorted(keys)
            ),
        )
    ).all()
    return {(row.observation_id, row.version_id): row.content_hash for row in rows}


def add_conflict(session: Session, row: LabIntakeConflictRow) -> bool:
    """Keep a conflicting version for review; False when this very content was flagged before."""
    statement = (
        insert(LabIntakeConflictRow)
        .values(
            id=row.id,
            source=row.source,
            observation_id=row.observation_id,
            version_id=row.version_id,
            content_hash=row.content_hash,
            recorded_content_hash=row.recorded_content_hash,
            subject_id=row.subject_id,
            summary=row.summary,
            received_at=row.received_at,
            received_by=row.received_by,
        )
        .on_conflict_do_nothing(constraint="uq_lab_intake_conflicts_delivery")
        .returning(LabIntakeConflictRow.id)
    )
    return session.execute(statement).first() is not None


def conflicts(
    session: Session,
    *,
    subject_id: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
    principal: Principal | None,
) -> Sequence[LabIntakeConflictRow]:
    query = select(LabIntakeConflictRow).where(
        subject_in_scope(LabIntakeConflictRow.subject_id, principal),
        pagination.after(after, LabIntakeConflictRow.received_at, LabIntakeConflictRow.id),
    )
    if subject_id is not None:
        query = query.where(LabIntakeConflictRow.subject_id == subject_id)
    return session.scalars(
        query.order_by(LabIntakeConflictRow.received_at, LabIntakeConflictRow.id).limit(limit)
    ).all()


def proposal_for_observation(
    session: Session, source: str, observation_id: str, *, lock: bool
) -> ProposedAdverseEventRow | None:
    query = select(ProposedAdverseEventRow).where(
        ProposedAdverseEventRow.source == source,
        ProposedAdverseEventRow.observation_id == observation_id,
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def proposal(
    session: Session, proposal_id: uuid.UUID, *, lock: bool
) -> ProposedAdverseEventRow | None:
    query = select(ProposedAdverseEventRow).where(ProposedAdverseEventRow.id == proposal_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def proposals(
    session: Session,
    *,
    trial_id: str | None,
    subject_id: str | None,
    status: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
    principal: Principal | None = None,
) -> Sequence[ProposedAdverseEventRow]:
    query = select(ProposedAdverseEventRow).where(
        subject_in_scope(ProposedAdverseEventRow.subject_id, principal),
        pagination.after(after, ProposedAdverseEventRow.updated_at, ProposedAdverseEventRow.id),
    )
    if trial_id is not None:
        query = query.where(ProposedAdverseEventRow.trial_id == trial_id)
    if subject_id is not None:
        query = query.where(ProposedAdverseEventRow.subject_id == subject_id)
    if status is not None:
        query = query.where(ProposedAdverseEventRow.status == status)
    return session.scalars(
        query.order_by(ProposedAdverseEventRow.updated_at, ProposedAdverseEventRow.id).limit(limit)
    ).all()
