"""ORM rows of subjects (from enrollment's events) and of the visits reported missed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Float, ForeignKey, String, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from doseline.subject_projection import HospitalIdHash, SubjectProjection
from imaging.db import Base


class SubjectRow(SubjectProjection, Base):
    """A subject by study id (`doseline.subject_projection`)."""

    __tablename__ = "subjects"

    # What enrollment recorded at screening (`enrollment.subject.enrolled`); lung function and
    # walk tests use them when a request omits them (imaging.subjects.facts).
    sex: Mapped[str | None] = mapped_column(String(10), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    height_cm: Mapped[float | None] = mapped_column(Float, nullable=True)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (a class-level directive)
        return {"version_id_col": cls.__table__.c.version}


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


class SubjectHospitalIdRow(HospitalIdHash, Base):
    """A keyed hash of one hospital identifier of a subject, for matching FHIR results."""

    __tablename__ = "subject_hospital_ids"

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.subject_id", ondelete="RESTRICT"), index=True
    )
