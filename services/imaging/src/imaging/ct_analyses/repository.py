"""Queries of CT analyses: the worker's claim, the sweeper's lost work orders, and the lock
that serialises the writers and deleters of one stored object."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from doseline import pagination
from imaging.ct_analyses.models import CtAnalysisRow


def analysis(
    session: Session, analysis_id: uuid.UUID, *, lock: bool = False
) -> CtAnalysisRow | None:
    query = select(CtAnalysisRow).where(CtAnalysisRow.id == analysis_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def claim_next(
    session: Session, *, stale_before: datetime, analysis_id: uuid.UUID | None = None
) -> CtAnalysisRow | None:
    """The analysis `analysis_id` (or else the oldest) if it is queued, or processing by a
    worker that stopped before finishing; locked, and skipped by other workers while locked."""
    query = select(CtAnalysisRow).where(
        or_(
            CtAnalysisRow.status == "queued",
            (CtAnalysisRow.status == "processing") & (CtAnalysisRow.claimed_at < stale_before),
        )
    )
    if analysis_id is not None:
        query = query.where(CtAnalysisRow.id == analysis_id)
    return session.scalars(
        query.order_by(CtAnalysisRow.created_at, CtAnalysisRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def unannounced_since(
    session: Session, *, stale_before: datetime, limit: int
) -> Sequence[CtAnalysisRow]:
    """Analyses no worker finished within a lease of their last work order: still queued, or
    processing by a worker that stopped. Locked; skipped by a concurrent sweeper."""
    announced = func.coalesce(CtAnalysisRow.announced_at, CtAnalysisRow.created_at)
    return session.scalars(
        select(CtAnalysisRow)
        .where(
            announced < stale_before,
            or_(
                CtAnalysisRow.status == "queued",
                (CtAnalysisRow.status == "processing") & (CtAnalysisRow.claimed_at < stale_before),
            ),
        )
        .order_by(CtAnalysisRow.created_at, CtAnalysisRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def live_references(session: Session, object_key: str) -> int:
    """Analyses that still need the object: every one but those that failed."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CtAnalysisRow)
            .where(CtAnalysisRow.object_key == object_key, CtAnalysisRow.status != "failed")
        )
        or 0
    )


@contextmanager
def object_lock(sessions: sessionmaker[Session], object_key: str) -> Iterator[None]:
    """Hold the lock of one object (one content) across processes while it is stored or deleted
    and the rows that refer to it are written or counted, so that a deletion never removes an
    object a concurrent upload of the same bytes is about to record.

    A session-level advisory lock on a connection of its own, in autocommit: no transaction
    stays open while the object travels, and only writers of the very same content wait."""
    with sessions() as session:
        bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    name = f"imaging.ct_object.{object_key}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(select(func.pg_advisory_lock(func.hashtext(name))))
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(func.hashtext(name))))


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
