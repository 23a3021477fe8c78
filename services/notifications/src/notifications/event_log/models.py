"""The ordered, append-only event log: every public event once, in the order it was appended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from notifications.db import Base


class LoggedEvent(Base):
    """One public event; `position` is the log's own order (assigned under a lock at append)."""

    __tablename__ = "event_log"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    trial_id: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    # The subject's site for an event about a subject; None for trial-level events, which
    # every reader of the trial sees.
    site_id: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_event_log_event_type_position", "event_type", "position"),
        Index("ix_event_log_trial_id_position", "trial_id", "position"),
        Index("ix_event_log_subject_id_position", "subject_id", "position"),
        Index("ix_event_log_site_id_position", "site_id", "position"),
        Index("ix_event_log_occurred_at", "occurred_at"),
    )


class TopicCursor(Base):
    """How far the log has been published to an AMQP topic exchange (one row per exchange)."""

    __tablename__ = "topic_cursors"

    exchange: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
