"""ORM rows of subjects as safety knows them from enrollment's events, with their baseline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class SubjectRow(Base):
    """A subject by study id; enrolment facts and DLT window arrive by event, in any order."""

    __tablename__ = "subjects"

    subject_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    cohort_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dose_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    site_time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    protocol_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    first_infusion_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    dlt_window_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    dlt_window_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The highest infusion number seen: an older infusion event arriving late changes nothing.
    last_infusion_number: Mapped[int] = mapped_column(Integer, default=0)
    # Subjects of HDMSC-RP-01 start with radiation pneumonitis: DLT rules compare to these.
    baseline_pneumonitis_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline_oxygen_use: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    baseline_conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class SubjectHospitalIdRow(Base):
    """A keyed hash of one hospital identifier of a subject, for matching EHR records."""

    __tablename__ = "subject_hospital_ids"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.subject_id", ondelete="CASCADE"), index=True
    )
