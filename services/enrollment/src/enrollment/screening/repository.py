"""Queries of screenings."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.screening.models import Screening
from enrollment.subjects.models import Subject


def latest_screening(session: Session, subject_id: str) -> Screening | None:
    return session.scalars(
        select(Screening)
        .where(Screening.subject_id == subject_id)
        .order_by(Screening.recorded_at.desc())
        .limit(1)
    ).first()


def get_screening(session: Session, screening_id: uuid.UUID) -> Screening | None:
    return session.scalars(
        select(Screening).where(Screening.id == screening_id).with_for_update()
    ).first()


def screen_failures(session: Session, trial_id: str) -> list[Screening]:
    """Every screening that found a subject ineligible, oldest first (all kept, none dropped)."""
    return list(
        session.scalars(
            select(Screening)
            .join(Subject, Subject.id == Screening.subject_id)
            .where(Subject.trial_id == trial_id, Screening.status == "ineligible")
            .order_by(Screening.recorded_at)
        )
    )
