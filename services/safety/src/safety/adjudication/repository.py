"""Queries of DLT assessments, cases and signatures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doseline import pagination
from doseline.auth import Principal
from safety.adjudication.models import (
    DltAssessmentRow,
    DltCaseRow,
    DltSignatureRow,
)
from safety.subjects.scope import subject_in_scope


def case_of_ae(session: Session, ae_id: uuid.UUID, *, lock: bool) -> DltCaseRow | None:
    query = select(DltCaseRow).where(DltCaseRow.ae_id == ae_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def case(session: Session, dlt_id: uuid.UUID, *, lock: bool) -> DltCaseRow | None:
    query = select(DltCaseRow).where(DltCaseRow.id == dlt_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def cases(
    session: Session,
    *,
    trial_id: str | None,
    status: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
    principal: Principal | None = None,
) -> Sequence[DltCaseRow]:
    """Cases in the order they were opened, `limit` of them after the `after` key."""
    query = select(DltCaseRow).where(
        subject_in_scope(DltCaseRow.subject_id, principal),
        pagination.after(after, DltCaseRow.created_at, DltCaseRow.id),
    )
    if trial_id is not None:
        query = query.where(DltCaseRow.trial_id == trial_id)
    if status is not None:
        query = query.where(DltCaseRow.status == status)
    return session.scalars(query.order_by(DltCaseRow.created_at, DltCaseRow.id).limit(limit)).all()


def signatures(session: Session, dlt_id: uuid.UUID) -> Sequence[DltSignatureRow]:
    return signatures_of(session, [dlt_id]).get(dlt_id, [])


def signatures_of(
    session: Session, dlt_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DltSignatureRow]]:
    """The signatures of several cases in one query, each case's in signing order."""
    found: dict[uuid.UUID, list[DltSignatureRow]] = {}
    if not dlt_ids:
        return found
    rows = session.scalars(
        select(DltSignatureRow)
        .where(DltSignatureRow.dlt_id.in_(dlt_ids))
        .order_by(DltSignatureRow.dlt_id, DltSignatureRow.signed_at)
    )
    for row in rows:
        found.setdefault(row.dlt_id, []).append(row)
    return found


def void_signatures(session: Session, dlt_id: uuid.UUID, *, at: object, reason: str) -> None:
    session.execute(
        update(DltSignatureRow)
        .where(DltSignatureRow.dlt_id == dlt_id, DltSignatureRow.voided_at.is_(None))
        .values(voided_at=at, void_reason=reason)
    )


def assessments(session: Session, ae_id: uuid.UUID) -> Sequence[DltAssessmentRow]:
    return session.scalars(
        select(DltAssessmentRow)
        .where(DltAssessmentRow.ae_id == ae_id)
        .order_by(DltAssessmentRow.assessed_at, DltAssessmentRow.id)
    ).all()
