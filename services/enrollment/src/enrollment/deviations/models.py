"""ORM rows of protocol deviations of the infusion schedule."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class ProtocolDeviation(Base):
    """One departure from the infusion plan: which infusion, its planned day and window, and
    when (if ever) it was given. At most one of each kind per infusion."""

    __tablename__ = "protocol_deviations"
    __table_args__ = (UniqueConstraint("subject_id", "kind", "infusion_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    # missed-infusion, infusion-outside-window or partial-dose
    kind: Mapped[str] = mapped_column(String(40))
    infusion_number: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[date] = mapped_column(Date)
    window_opens: Mapped[date] = mapped_column(Date)
    window_closes: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    site_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    infusion_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("infusions.id"), nullable=True)
    description: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
