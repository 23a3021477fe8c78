"""Queries of outcome assessments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseline import pagination
from imaging.assessments.models import AssessmentRow


def assessment(
    session: Session, assessment_id: uuid.UUID, *, lock: bool = False
) -> AssessmentRow | None:
    query = select(AssessmentRow).where(AssessmentRow.id == assessment_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def lock_fhir_observation(session: Session, sender: str, observation_id: str) -> None:
    """Serialise deliveries of one sender's FHIR Observation id, including its first one."""
    key = f"imaging.fhir.{sender}.{observation_id}"
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def by_fhir_observation(session: Session, sender: str, observation_id: str) -> AssessmentRow | None:
    return session.scalars(
        select(AssessmentRow)
        .where(
            AssessmentRow.fhir_sender == sender,
            AssessmentRow.fhir_observation_id == observation_id,
        )
        .with_for_update()
    ).first()


def by_ids(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AssessmentRow]:
    """Several assessments in one query, by id."""
    if not ids:
        return {}
    return {
        row.id: row
        for row in session.scalars(select(AssessmentRow).where(AssessmentRow.id.in_(ids)))
    }


def of_subject(
    session: Session,
    subject_id: str,
    *,
    kind: str | None = None,
    after: tuple[Any, ...] | None = None,
    limit: int | None = None,
    include_voided: bool = True,
    lock: bool = False,
) -> Sequence[AssessmentRow]:
    query = select(AssessmentRow).where(AssessmentRow.subject_id == subject_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    if kind is not None:
        query = query.where(AssessmentRow.kind == kind)
    if not include_voided:
        query = query.where(AssessmentRow.status == "recorded")
    query = query.where(
        pagination.after(after, AssessmentRow.performed_at, AssessmentRow.id)
    ).order_by(AssessmentRow.performed_at, AssessmentRow.id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def recorded_of_trial(session: Session, trial_id: str, kind: str) -> Sequence[AssessmentRow]:
    return session.scalars(
        select(AssessmentRow)
        .where(
            AssessmentRow.trial_id == trial_id,
            AssessmentRow.kind == kind,
            AssessmentRow.status == "recorded",
        )
        .order_by(AssessmentRow.subject_id, AssessmentRow.performed_at, AssessmentRow.id)
    ).all()


def has_assessment_at_visit(session: Session, subject_id: str, visit: str) -> bool:
    return (
        session.scalars(
            select(AssessmentRow.id)
            .where(
                AssessmentRow.subject_id == subject_id,
                AssessmentRow.visit == visit,
                AssessmentRow.status == "recorded",
            )
            .limit(1)
        ).first()
        is not None
    )
