"""ORM rows of follow-up visits that took place (the schedule itself is computed)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class VisitRecord(Base):
    """A visit that took place; `in_window` False flags it, it is never refused (PROTOCOL.md)."""

    __tablename__ = "visit_records"
    __table_args__ = (UniqueConstraint("subject_id", "visit"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    visit: Mapped[str] = mapped_column(String(40))
    visit_date: Mapped[date] = mapped_column(Date)
    in_window: Mapped[bool]
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
