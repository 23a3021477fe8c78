"""ORM row of a trial's outcome settings: its visit schedule and reference equations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from imaging.db import Base


class TrialSettingsRow(Base):
    """Imaging's own copy of a trial's visit schedule, and the equations it chose."""

    __tablename__ = "trial_settings"

    trial_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Follow-up visits: code, months after the last infusion, window in days.
    visit_schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    spirometry_equation: Mapped[str] = mapped_column(String(40))
    gli_2012_ethnicity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    walk_equation: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
