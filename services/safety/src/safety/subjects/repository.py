"""Queries of subjects and their hospital-identifier hashes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from safety.subjects.models import SubjectHospitalIdRow, SubjectRow


def subject(session: Session, subject_id: str) -> SubjectRow | None:
    return session.get(SubjectRow, subject_id)


def subject_for_update(session: Session, subject_id: str) -> SubjectRow | None:
    return session.scalars(
        select(SubjectRow).where(SubjectRow.subject_id == subject_id).with_for_update()
    ).first()


def subject_by_hospital_hash(session: Session, id_hash: str) -> SubjectRow | None:
    return session.scalars(
        select(SubjectRow)
        .join(SubjectHospitalIdRow, SubjectHospitalIdRow.subject_id == SubjectRow.subject_id)
        .where(SubjectHospitalIdRow.id_hash == id_hash)
    ).first()


def add_hospital_hashes(session: Session, subject_id: str, hashes: Iterable[str]) -> None:
    values = [{"id_hash": h, "subject_id": subject_id} for h in hashes]
    if values:
        session.execute(insert(SubjectHospitalIdRow).values(values).on_conflict_do_nothing())


def lock_new_subject(session: Session, subject_id: str, trial_id: str) -> SubjectRow:
    """The subject row, created if absent, locked for this transaction (events race)."""
    session.execute(
        insert(SubjectRow)
        .values(
            subject_id=subject_id,
            trial_id=trial_id,
            last_infusion_number=0,
            baseline_conditions=[],
            version=1,
        )
        .on_conflict_do_nothing(index_elements=[SubjectRow.subject_id])
    )
    row = subject_for_update(session, subject_id)
    if row is None:  # pragma: no cover - the insert above guarantees the row
        raise LookupError(subject_id)
    session.refresh(row)
    return row


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
