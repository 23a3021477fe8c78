"""The subjects a service knows from enrollment's events: one projection for every consumer.

Safety and imaging keep the same facts about a subject (trial, site, dose level, day 1, the last
infusion, the DLT window) from `enrollment.subject.enrolled` and
`enrollment.infusion.administered`, which arrive in any order and more than once. The columns
(`SubjectProjection`, mixed into each service's own `subjects` table) and the rules that apply
the events live here once:

- the row is created by whichever event arrives first, under a row lock (events race);
- enrolment facts (trial, site, cohort, dose level, zone) come from the enrolment event;
- the newest infusion (highest number) sets day 1 and the DLT window: an older infusion arriving
  late changes neither; infusion 1 sets the first infusion's instant and the infusion marked
  last the last one, whatever their order of arrival;
- every change writes an audit entry with the event as its author.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Date, DateTime, Integer, String, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from doseline import audit
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled


class SubjectProjection:
    """The columns of a service's `subjects` table that enrollment's events fill."""

    subject_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    # Every read and write of the subject's data is limited to this site (doseline.site_scope).
    site_id: Mapped[str] = mapped_column(String(40), index=True)
    cohort_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dose_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    site_time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    protocol_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    first_infusion_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_infusion_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_infusion_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # The highest infusion number seen: an older infusion event arriving late changes nothing.
    last_infusion_number: Mapped[int] = mapped_column(Integer, default=0)
    dlt_window_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    dlt_window_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def known(self) -> bool:
        """Enrollment's 'subject enrolled' event has arrived."""
        return self.enrolled_at is not None


class HospitalIdHash:
    """The columns of a service's `subject_hospital_ids` table (its own foreign key added)."""

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str]


P = TypeVar("P", bound=SubjectProjection)
H = TypeVar("H", bound=HospitalIdHash)


def snapshot(row: SubjectProjection) -> dict[str, Any]:
    """What the audit trail records of the projection."""
    return {
        "trial_id": row.trial_id,
        "site_id": row.site_id,
        "cohort_number": row.cohort_number,
        "dose_level": row.dose_level,
        "enrolled_at": row.enrolled_at,
        "site_time_zone": row.site_time_zone,
        "protocol_version": row.protocol_version,
        "first_infusion_on": row.first_infusion_on,
        "first_infusion_at": row.first_infusion_at,
        "last_infusion_at": row.last_infusion_at,
        "last_infusion_number": row.last_infusion_number,
        "dlt_window_start": row.dlt_window_start,
        "dlt_window_end": row.dlt_window_end,
    }


def lock_subject(
    session: Session, model: type[P], *, subject_id: str, trial_id: str, site_id: str
) -> P:
    """The subject row, created if absent, locked for this transaction (events race)."""
    session.execute(
        insert(model)
        .values(
            subject_id=subject_id,
            trial_id=trial_id,
            site_id=site_id,
            last_infusion_number=0,
            version=1,
        )
        .on_conflict_do_nothing(index_elements=["subject_id"])
    )
    row = session.scalars(
        select(model).where(model.subject_id == subject_id).with_for_update()
    ).first()
    if row is None:  # pragma: no cover - the insert above guarantees the row
        raise LookupError(subject_id)
    session.refresh(row)
    return row


def site_of_subject(
    session: Session, model: type[SubjectProjection], subject_id: str
) -> str | None:
    site_id: str | None = session.scalars(
        select(model.site_id).where(model.subject_id == subject_id)
    ).first()
    return site_id


def add_hospital_hashes(
    session: Session, model: type[HospitalIdHash], subject_id: str, hashes: Iterable[str]
) -> None:
    values = [{"id_hash": h, "subject_id": subject_id} for h in hashes]
    if values:
        session.execute(insert(model).values(values).on_conflict_do_nothing())


def subject_by_hospital_hash(
    session: Session, model: type[P], hashes: type[HospitalIdHash], id_hash: str
) -> P | None:
    return subject_by_hospital_hashes(session, model, hashes, [id_hash])


def subject_by_hospital_hashes(
    session: Session, model: type[P], hashes: type[HospitalIdHash], id_hashes: Iterable[str]
) -> P | None:
    """The subject carrying one of ``id_hashes`` (doseline.identity.hospital_id_hashes)."""
    return session.scalars(
        select(model)
        .join(hashes, hashes.subject_id == model.subject_id)
        .where(hashes.id_hash.in_(sorted(set(id_hashes))))
        .order_by(model.subject_id)
    ).first()


def record_enrolment(
    session: Session, model: type[P], hashes: type[HospitalIdHash], event: SubjectEnrolled
) -> P:
    row = lock_subject(
        session,
        model,
        subject_id=event.subject_id,
        trial_id=event.trial_id,
        site_id=event.site_id,
    )
    before = snapshot(row)
    row.trial_id = event.trial_id
    row.site_id = event.site_id
    row.cohort_number = event.cohort_number
    row.dose_level = event.dose_level
    row.enrolled_at = event.enrolled_at
    row.site_time_zone = event.site_time_zone
    row.protocol_version = event.protocol_version
    add_hospital_hashes(session, hashes, event.subject_id, event.hospital_id_hashes)
    session.flush()
    audit.record(
        session,
        actor=f"event <{SubjectEnrolled.event_type}>",
        action="subject.enrolled",
        entity_type="subject",
        entity_id=row.subject_id,
        before=before,
        after=snapshot(row),
    )
    return row


def record_infusion(
    session: Session, model: type[P], event: InfusionAdministered
) -> tuple[P, bool]:
    """Apply an infusion; True when day 1 or the DLT window is new or changed."""
    row = lock_subject(
        session,
        model,
        subject_id=event.subject_id,
        trial_id=event.trial_id,
        site_id=event.site_id,
    )
    before = snapshot(row)
    newest = event.infusion_number >= row.last_infusion_number
    window = (event.first_infusion_on, event.dlt_window_start, event.dlt_window_end)
    window_changed = newest and window != (
        row.first_infusion_on,
        row.dlt_window_start,
        row.dlt_window_end,
    )
    # Trial and site are the enrolment's (an infusion arriving first only creates the row).
    if newest:
        row.last_infusion_number = event.infusion_number
        row.first_infusion_on, row.dlt_window_start, row.dlt_window_end = window
    if row.dose_level is None:
        row.dose_level = event.dose_level
    if event.infusion_number == 1:
        row.first_infusion_at = event.administered_at
    if event.is_last:
        row.last_infusion_at = event.administered_at
    after = snapshot(row)
    if after == before:
        return row, False
    session.flush()
    audit.record(
        session,
        actor=f"event <{InfusionAdministered.event_type}>",
        action="subject.infusion_recorded",
        entity_type="subject",
        entity_id=row.subject_id,
        before=before,
        after=after,
    )
    return row, window_changed
