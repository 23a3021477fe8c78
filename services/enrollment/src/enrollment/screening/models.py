"""ORM rows of screenings: every criterion's answer and evidence, and the verdict."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class Screening(Base):
    """One screening of a subject: every criterion's answer and evidence, and the verdict."""

    __tablename__ = "screenings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    screened_on: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    eligible: Mapped[bool] = mapped_column(Boolean)
    # eligible, ineligible or incomplete (a missing answer is never "ineligible")
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    # The person's facts the outcome reference equations need; the latest screening's travel
    # to other services with the enrolment.
    sex: Mapped[str | None] = mapped_column(String(10), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    height_cm: Mapped[Decimal | None] = mapped_column(Numeric(4, 1), nullable=True)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    recorded_by: Mapped[str] = mapped_column(String(200))
    # An investigator's sign-off of the eligibility verdict; enrolment waits for it.
    signed_off_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signed_off_by_subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
