"""Queries of subjects and their hospital-identifier hashes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import subject_projection
from safety.subjects.models import SubjectHospitalIdRow, SubjectRow


def subject(session: Session, subject_id: str) -> SubjectRow | None:
    return session.get(SubjectRow, subject_id)


def subjects(session: Session, subject_ids: Iterable[str]) -> list[SubjectRow]:
    wanted = sorted(set(subject_ids))
    if not wanted:
        return []
    return list(session.scalars(select(SubjectRow).where(SubjectRow.subject_id.in_(wanted))))


def subject_for_update(session: Session, subject_id: str) -> SubjectRow | None:
    return session.scalars(
        select(SubjectRow).where(SubjectRow.subject_id == subject_id).with_for_update()
    ).first()


def subject_by_hospital_hash(session: Session, id_hash: str) -> SubjectRow | None:
    return subject_projection.subject_by_hospital_hash(
        session, SubjectRow, SubjectHospitalIdRow, id_hash
    )


def subject_by_hospital_hashes(session: Session, id_hashes: Iterable[str]) -> SubjectRow | None:
    return subject_projection.subject_by_hospital_hashes(
        session, SubjectRow, SubjectHospitalIdRow, id_hashes
    )


def add_hospital_hashes(session: Session, subject_id: str, hashes: Iterable[str]) -> None:
    subject_projection.add_hospital_hashes(session, SubjectHospitalIdRow, subject_id, hashes)


def lock_subjects_of_trial(session: Session, trial_id: str) -> list[SubjectRow]:
    """Every subject of the trial, locked in id order (the order every writer locks them in)."""
    return list(
        session.scalars(
            select(SubjectRow)
            .where(SubjectRow.trial_id == trial_id)
            .order_by(SubjectRow.subject_id)
            .with_for_update()
        ).all()
    )


def site_of_subject(session: Session, subject_id: str) -> str | None:
    return subject_projection.site_of_subject(session, SubjectRow, subject_id)
