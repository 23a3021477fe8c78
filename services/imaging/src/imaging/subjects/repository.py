"""Queries of subjects and of the visits reported missed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline import subject_projection
from imaging.subjects.models import MissedVisitRow, SubjectHospitalIdRow, SubjectRow


def subject(session: Session, subject_id: str, *, lock: bool = False) -> SubjectRow | None:
    query = select(SubjectRow).where(SubjectRow.subject_id == subject_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def site_of_subject(session: Session, subject_id: str) -> str | None:
    return subject_projection.site_of_subject(session, SubjectRow, subject_id)


def subjects_of_trial(
    session: Session, trial_id: str, *, lock: bool = False
) -> Sequence[SubjectRow]:
    query = (
        select(SubjectRow).where(SubjectRow.trial_id == trial_id).order_by(SubjectRow.subject_id)
    )
    if lock:
        # In subject-id order, as every other writer locks one subject: no deadlock.
        query = query.with_for_update()
    return session.scalars(query).all()


def subjects_after_last_infusion(session: Session) -> Sequence[SubjectRow]:
    return session.scalars(
        select(SubjectRow)
        .where(SubjectRow.last_infusion_at.is_not(None), SubjectRow.site_time_zone.is_not(None))
        .order_by(SubjectRow.subject_id)
    ).all()


def missed_visits(session: Session, subject_id: str) -> set[str]:
    return set(
        session.scalars(select(MissedVisitRow.visit).where(MissedVisitRow.subject_id == subject_id))
    )


def add_missed_visit(session: Session, row: MissedVisitRow) -> bool:
    """Insert unless already reported (concurrent sweeps); True when this call inserted it."""
    inserted = session.execute(
        insert(MissedVisitRow)
        .values(
            subject_id=row.subject_id,
            visit=row.visit,
            target_on=row.target_on,
            window_end=row.window_end,
        )
        .on_conflict_do_nothing()
        .returning(MissedVisitRow.visit)
    ).first()
    return inserted is not None


def add_hospital_hashes(session: Session, subject_id: str, hashes: Iterable[str]) -> None:
    subject_projection.add_hospital_hashes(session, SubjectHospitalIdRow, subject_id, hashes)


def subject_by_hospital_hash(session: Session, id_hash: str) -> SubjectRow | None:
    return subject_projection.subject_by_hospital_hash(
        session, SubjectRow, SubjectHospitalIdRow, id_hash
    )


def subject_by_hospital_hashes(session: Session, id_hashes: Iterable[str]) -> SubjectRow | None:
    return subject_projection.subject_by_hospital_hashes(
        session, SubjectRow, SubjectHospitalIdRow, id_hashes
    )
