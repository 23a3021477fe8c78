"""ORM rows of ICSR messages: the inputs of each E2B(R3) transmission about a serious AE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class IcsrMessageRow(Base):
    """One ICSR message of an adverse event (initial, follow-up or nullification); never
    changed once written. `facts` is everything the message says (`safety.icsr.message`)."""

    __tablename__ = "icsr_messages"

    ae_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("adverse_events.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    safety_report_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    ae_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
