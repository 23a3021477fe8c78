"""ORM rows of subjects: study ids, the keyed hospital-id hash, consent, withdrawal."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class Subject(Base):
    """A person in a trial, known only by the study id the system issued."""

    __tablename__ = "subjects"
    __table_args__ = (
        UniqueConstraint("trial_id", "number"),
        # Duplicate detection without the MRN: the keyed hash is unique per trial.
        UniqueConstraint("trial_id", "hospital_id_hash"),
        Index("ix_subjects_trial_id_site_id", "trial_id", "site_id"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    number: Mapped[int] = mapped_column(Integer)
    # One of the protocol's `sites`; every read and write of the subject is limited to it.
    site_id: Mapped[str] = mapped_column(String(40))
    hospital_id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # registered, screening, eligible, screen_failed, enrolled or withdrawn
    status: Mapped[str] = mapped_column(String(20), default="registered")
    consent_signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class SubjectWithdrawal(Base):
    """An enrolled subject's withdrawal or discontinuation: from `effective_on` (a site calendar
    day) no further infusion is given, and only safety follow-up continues if consent allows."""

    __tablename__ = "subject_withdrawals"

    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    # consent_withdrawn, investigator_decision, lost_to_follow_up or death
    reason: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[date] = mapped_column(Date)
    details: Mapped[str] = mapped_column(Text)
    safety_follow_up: Mapped[bool]
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
