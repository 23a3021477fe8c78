"""Queries of CT analyses, including the worker's claim of the next one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from doseline import pagination
from imaging.ct_analyses.models import CtAnalysisRow


def analysis(
    session: Session, analysis_id: uuid.UUID, *, lock: bool = False
) -> CtAnalysisRow | None:
    query = select(CtAnalysisRow).where(CtAnalysisRow.id == analysis_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def claim_next(session: Session, *, stale_before: datetime) -> CtAnalysisRow | None:
    """The oldest queued analysis, or one whose worker stopped before finishing; locked, and
    skipped by other workers while locked."""
    return session.scalars(
        select(CtAnalysisRow)
        .where(
            or_(
                CtAnalysisRow.status == "queued",
                (CtAnalysisRow.status == "processing") & (CtAnalysisRow.claimed_at < stale_before),
            )
        )
        .order_by(CtAnalysisRow.created_at, CtAnalysisRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def of_subject(
    session: Session,
    subject_id: str,
    *,
    after: tuple[Any, ...] | None,
    limit: int,
) -> Sequence[CtAnalysisRow]:
    query = select(CtAnalysisRow).where(
        CtAnalysisRow.subject_id == subject_id,
        pagination.after(after, CtAnalysisRow.created_at, CtAnalysisRow.id),
    )
    return session.scalars(
        query.order_by(CtAnalysisRow.created_at, CtAnalysisRow.id).limit(limit)
    ).all()
