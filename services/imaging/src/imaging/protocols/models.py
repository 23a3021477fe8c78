"""ORM rows of the protocol versions imaging received (never changed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from imaging.db import Base


class ProtocolVersionRow(Base):
    """One activation of a protocol version for a trial; ``sequence`` orders a trial's versions."""

    __tablename__ = "protocol_versions"

    trial_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(80))
    activation: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
