"""Queries of received lab Observations and proposed adverse events."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, cast

from sqlalchemy import String, Table, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from doseline import bulk, pagination
from doseline.auth import Principal
from safety.ehr.models import LabIntakeConflictRow, LabObservationRow, ProposedAdverseEventRow
from safety.subjects.scope import subject_in_scope

GRADED_STATUSES: Final = ("final", "amended", "corrected")


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


@dataclass(frozen=True)
class EarlierResult:
    """A received result a later one may take its baseline from."""

    observation_id: str
    subject_id: str
    status: str
    value: Decimal
    unit: str
    effective_on: date
    received_at: datetime


def pre_treatment_results(
    session: Session, subject_ids: Collection[str], loinc: str, *, on_or_before: date
) -> list[EarlierResult]:
    """These subjects' results of one test up to a date, latest first (baseline candidates)."""
    if not subject_ids:
        return []
    rows = session.execute(
        select(
            LabObservationRow.observation_id,
            LabObservationRow.subject_id,
            LabObservationRow.status,
            LabObservationRow.value,
            LabObservationRow.unit,
            LabObservationRow.effective_on,
            LabObservationRow.received_at,
        )
        .where(
            LabObservationRow.subject_id.in_(sorted(subject_ids)),
            LabObservationRow.loinc == loinc,
            LabObservationRow.effective_on <= on_or_before,
            LabObservationRow.status.in_(GRADED_STATUSES),
        )
        .order_by(LabObservationRow.effective_on.desc(), LabObservationRow.received_at.desc())
    ).all()
    return [EarlierResult(**row._mapping) for row in rows]


def received_keys(
    session: Session, source: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """Which of these (Observation id, version) pairs the sender sent before, with the content
    hash each was received with."""
    if not keys:
        return {}
    ordered = sorted(keys)
    pairs = select(
        func.unnest(bindparam("ids", [key[0] for key in ordered], type_=ARRAY(String))),
        func.unnest(bindparam("versions", [key[1] for key in ordered], type_=ARRAY(String))),
    )
    rows = session.execute(
        select(
            LabObservationRow.observation_id,
            LabObservationRow.version_id,
            LabObservationRow.content_hash,
        ).where(
            LabObservationRow.source == source,
            tuple_(LabObservationRow.observation_id, LabObservationRow.version_id).in_(pairs),
        )
    ).all()
    return {(row.observation_id, row.version_id): row.content_hash for row in rows}


def _columns(table: Table, row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in table.columns}


def insert_observations(
    session: Session, rows: Sequence[Mapping[str, Any]]
) -> set[tuple[str, str]]:
    """Store received results with one statement; the (id, version) pairs stored. A pair another
    request stored first (a concurrent delivery) is left out, not an error."""
    if not rows:
        return set()
    table = cast(Table, LabObservationRow.__table__)
    statement = (
        bulk.insert_rows(table, rows)
        .on_conflict_do_nothing(constraint="uq_lab_observations_delivery")
        .returning(table.c.observation_id, table.c.version_id)
    )
    stored = session.execute(statement).all()
    return {(row.observation_id, row.version_id) for row in stored}


def insert_proposals(session: Session, rows: Sequence[ProposedAdverseEventRow]) -> set[uuid.UUID]:
    """Store new proposals with one statement; the ids stored. One whose Observation got a
    proposal from another request first is left out."""
    if not rows:
        return set()
    table = cast(Table, ProposedAdverseEventRow.__table__)
    statement = (
        bulk.insert_rows(table, [_columns(table, row) for row in rows])
        .on_conflict_do_nothing(constraint="uq_proposed_adverse_events_result")
        .returning(table.c.id)
    )
    return set(session.scalars(statement).all())


def insert_conflicts(session: Session, rows: Sequence[LabIntakeConflictRow]) -> set[uuid.UUID]:
    """Keep conflicting versions for review; the ids of those not flagged before (the same
    content flagged again is kept once)."""
    if not rows:
        return set()
    table = cast(Table, LabIntakeConflictRow.__table__)
    statement = (
        bulk.insert_rows(table, [_columns(table, row) for row in rows])
        .on_conflict_do_nothing(constraint="uq_lab_intake_conflicts_delivery")
        .returning(table.c.id)
    )
    return set(session.scalars(statement).all())


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


def proposals_for_observations(
    session: Session, source: str, observation_ids: Collection[str]
) -> dict[str, ProposedAdverseEventRow]:
    """The proposals of these Observations of a sender, locked, by Observation id."""
    if not observation_ids:
        return {}
    rows = session.scalars(
        select(ProposedAdverseEventRow)
        .where(
            ProposedAdverseEventRow.source == source,
            ProposedAdverseEventRow.observation_id.in_(sorted(observation_ids)),
        )
        .order_by(ProposedAdverseEventRow.id)
        .with_for_update()
    ).all()
    return {row.observation_id: row for row in rows}


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
        pagination.after(after, ProposedAdverseEventRow.created_at, ProposedAdverseEventRow.id),
    )
    if trial_id is not None:
        query = query.where(ProposedAdverseEventRow.trial_id == trial_id)
    if subject_id is not None:
        query = query.where(ProposedAdverseEventRow.subject_id == subject_id)
    if status is not None:
        query = query.where(ProposedAdverseEventRow.status == status)
    return session.scalars(
        query.order_by(ProposedAdverseEventRow.created_at, ProposedAdverseEventRow.id).limit(limit)
    ).all()
