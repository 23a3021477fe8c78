"""Queries of visit records and of the subjects whose visits are scheduled."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.cohorts.models import Enrolment
from enrollment.visits.models import VisitRecord


def completed_visits(session: Session, subject_id: str) -> set[str]:
    return set(
        session.scalars(select(VisitRecord.visit).where(VisitRecord.subject_id == subject_id))
    )


def enrolled_subject_ids(session: Session, trial_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Enrolment.subject_id)
            .where(Enrolment.trial_id == trial_id)
            .order_by(Enrolment.sequence)
        )
    )
