"""ORM rows of subjects (from enrollment's events) and of the visits reported missed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from imaging.db import Base


class SubjectRow(Base):
    """A subject by study id; enrolment and infusion facts arrive by event, in any order."""

    __tablename__ = "subjects"

    subject_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    cohort_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dose_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    site_time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_infusion_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_infusion_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_infusion_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # The highest infusion number seen: an older infusion event arriving late changes nothing.
    highest_infusion_number: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class MissedVisitRow(Base):
    """A follow-up visit whose window closed empty; one row per subject and visit, reported once."""

    __tablename__ = "missed_visits"

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.subject_id", ondelete="RESTRICT"), primary_key=True
    )
    visit: Mapped[str] = mapped_column(String(40), primary_key=True)
    target_on: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SubjectHospitalIdRow(Base):
    """A keyed hash of one hospital identifier of a subject, for matching FHIR results."""

    __tablename__ = "subject_hospital_ids"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.subject_id", ondelete="RESTRICT"), index=True
    )
