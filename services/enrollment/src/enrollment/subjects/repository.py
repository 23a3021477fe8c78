"""Queries of subjects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.site_scope import in_scope
from enrollment.subjects.models import Subject, SubjectWithdrawal


def get_subject(session: Session, subject_id: str, *, for_update: bool = False) -> Subject | None:
    statement = select(Subject).where(Subject.id == subject_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def withdrawal_of(session: Session, subject_id: str) -> SubjectWithdrawal | None:
    return session.get(SubjectWithdrawal, subject_id)


def find_by_hospital_hash(session: Session, trial_id: str, digest: str) -> Subject | None:
    return session.scalars(
        select(Subject).where(Subject.trial_id == trial_id, Subject.hospital_id_hash == digest)
    ).first()


def site_of_subject(session: Session, subject_id: str) -> str | None:
    return session.scalars(select(Subject.site_id).where(Subject.id == subject_id)).first()


def site_of_registered_subject(session: Session, subject_id: str) -> str:
    """The site of a subject the caller's own rows name (a DLT window, a cohort's replacement
    slot, a waitlist entry, a DLT resolution): one registered before them, so it has one."""
    site_id = site_of_subject(session, subject_id)
    assert site_id is not None, subject_id
    return site_id


def subjects_of(
    session: Session, trial_id: str, *, principal: Principal, after: int, limit: int
) -> list[Subject]:
    return list(
        session.scalars(
            select(Subject)
            .where(
                Subject.trial_id == trial_id,
                Subject.number > after,
                in_scope(Subject.site_id, principal),
            )
            .order_by(Subject.number)
            .limit(limit)
        )
    )


def sites_of_trial_subjects(session: Session, trial_id: str) -> dict[str, str]:
    """Subject id → site id, for every subject of a trial."""
    rows = session.execute(select(Subject.id, Subject.site_id).where(Subject.trial_id == trial_id))
    return {str(subject_id): str(site_id) for subject_id, site_id in rows}


def visible_subject_ids(session: Session, trial_id: str, principal: Principal) -> set[str]:
    """The ids of the trial's subjects at the caller's sites."""
    return set(
        session.scalars(
            select(Subject.id).where(
                Subject.trial_id == trial_id, in_scope(Subject.site_id, principal)
            )
        )
    )
