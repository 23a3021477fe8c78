"""ORM rows of dose orders: an investigator's hold or reduction of a subject's dose."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class DoseOrder(Base):
    """A hold (no dose is prepared or given until it is released; permanent: none again) or a
    reduction (every later preparation at ``percent_of_dose`` of the assigned level's dose)."""

    __tablename__ = "dose_orders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    # hold or reduction
    kind: Mapped[str] = mapped_column(String(20))
    percent_of_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The first infusion the order applies to (the next one not given when it was ordered).
    from_infusion: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # active; a hold then released or permanent; a reduction superseded by a lower one
    status: Mapped[str] = mapped_column(String(20))
    ordered_by: Mapped[str] = mapped_column(String(200))
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
