"""Queries of subjects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.subjects.models import Subject


def get_subject(session: Session, subject_id: str, *, for_update: bool = False) -> Subject | None:
    statement = select(Subject).where(Subject.id == subject_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def find_by_hospital_hash(session: Session, trial_id: str, digest: str) -> Subject | None:
    return session.scalars(
        select(Subject).where(Subject.trial_id == trial_id, Subject.hospital_id_hash == digest)
    ).first()


def subjects_of(session: Session, trial_id: str, *, after: int, limit: int) -> list[Subject]:
    return list(
        session.scalars(
            select(Subject)
            .where(Subject.trial_id == trial_id, Subject.number > after)
            .order_by(Subject.number)
            .limit(limit)
        )
    )
