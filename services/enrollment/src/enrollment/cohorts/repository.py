"""Queries of cohorts, enrolments, replacement slots, the waitlist and slot reservations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enrollment.cohorts.models import (
    Cohort,
    Enrolment,
    ReplacementSlot,
    SlotReservation,
    WaitlistEntry,
)


def lock_latest_cohort(session: Session, trial_id: str) -> Cohort | None:
    """The trial's newest cohort, locked: every enrolment into it goes through this lock."""
    return session.scalars(
        select(Cohort)
        .where(Cohort.trial_id == trial_id)
        .order_by(Cohort.number.desc())
        .limit(1)
        .with_for_update()
    ).first()


def cohort_by_number(session: Session, trial_id: str, number: int) -> Cohort | None:
    return session.scalars(
        select(Cohort).where(Cohort.trial_id == trial_id, Cohort.number == number)
    ).first()


def get_cohort(
    session: Session, cohort_id: uuid.UUID, *, for_update: bool = False
) -> Cohort | None:
    statement = select(Cohort).where(Cohort.id == cohort_id)
    if for_update:
        # Locked rows are read afresh: a row loaded earlier in the session may be stale.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.scalars(statement).first()


def cohorts_of(session: Session, trial_id: str) -> list[Cohort]:
    return list(
        session.scalars(select(Cohort).where(Cohort.trial_id == trial_id).order_by(Cohort.number))
    )


def enrolled_count(session: Session, cohort_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort_id)
        )
        or 0
    )


def trial_enrolled_count(session: Session, trial_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.trial_id == trial_id)
        )
        or 0
    )


def last_sequence(session: Session, trial_id: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(Enrolment.sequence), 0)).where(
                Enrolment.trial_id == trial_id
            )
        )
        or 0
    )


def enrolment_of(session: Session, subject_id: str) -> Enrolment | None:
    return session.scalars(select(Enrolment).where(Enrolment.subject_id == subject_id)).first()


def enrolments_in(session: Session, cohort_id: uuid.UUID) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.cohort_id == cohort_id).order_by(Enrolment.sequence)
        )
    )


def active_reservations(
    session: Session, cohort_id: uuid.UUID, *, now: datetime
) -> list[SlotReservation]:
    return list(
        session.scalars(
            select(SlotReservation)
            .where(
                SlotReservation.cohort_id == cohort_id,
                SlotReservation.status == "active",
                SlotReservation.expires_at > now,
            )
            .order_by(SlotReservation.reserved_at)
        )
    )


def lapsed_reservations(session: Session, *, now: datetime) -> list[SlotReservation]:
    return list(
        session.scalars(
            select(SlotReservation)
            .where(SlotReservation.status == "active", SlotReservation.expires_at <= now)
            .with_for_update(skip_locked=True)
        )
    )


def reservations_of_trial(session: Session, trial_id: str) -> list[SlotReservation]:
    return list(
        session.scalars(
            select(SlotReservation)
            .join(Cohort, Cohort.id == SlotReservation.cohort_id)
            .where(Cohort.trial_id == trial_id)
            .order_by(SlotReservation.reserved_at)
        )
    )


def waiting(session: Session, trial_id: str) -> list[WaitlistEntry]:
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.trial_id == trial_id, WaitlistEntry.status == "waiting")
            .order_by(WaitlistEntry.position)
        )
    )


def waitlist_entry_of(
    session: Session, subject_id: str, *, for_update: bool = False
) -> WaitlistEntry | None:
    statement = select(WaitlistEntry).where(WaitlistEntry.subject_id == subject_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def active_reservations_of_subject(
    session: Session, subject_id: str, *, now: datetime
) -> list[SlotReservation]:
    """The subject's reservations still holding a slot at `now`, locked."""
    return list(
        session.scalars(
            select(SlotReservation)
            .where(
                SlotReservation.subject_id == subject_id,
                SlotReservation.status == "active",
                SlotReservation.expires_at > now,
            )
            .order_by(SlotReservation.reserved_at)
            .with_for_update()
        )
    )


def last_waitlist_position(session: Session, trial_id: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(WaitlistEntry.position), 0)).where(
                WaitlistEntry.trial_id == trial_id
            )
        )
        or 0
    )


def replacement_slot_for(
    session: Session, subject_id: str, *, status: str
) -> ReplacementSlot | None:
    """The newest replacement slot the subject opened that has `status`, locked."""
    return session.scalars(
        select(ReplacementSlot)
        .where(
            ReplacementSlot.replaced_subject_id == subject_id,
            ReplacementSlot.status == status,
        )
        .order_by(ReplacementSlot.opened_at.desc())
        .limit(1)
        .with_for_update()
    ).first()


def replacement_slots_of_trial(
    session: Session, trial_id: str, *, status: str | None = None
) -> list[ReplacementSlot]:
    statement = select(ReplacementSlot).where(ReplacementSlot.trial_id == trial_id)
    if status is not None:
        statement = statement.where(ReplacementSlot.status == status)
    return list(session.scalars(statement.order_by(ReplacementSlot.opened_at)))


def replacement_slots_in(session: Session, cohort_id: uuid.UUID) -> list[ReplacementSlot]:
    return list(
        session.scalars(
            select(ReplacementSlot)
            .where(ReplacementSlot.cohort_id == cohort_id)
            .order_by(ReplacementSlot.opened_at)
        )
    )
