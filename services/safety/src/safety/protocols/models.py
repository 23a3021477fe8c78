"""ORM rows of the protocol versions safety received, and of the reviews an amendment asks for."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class ProtocolVersionRow(Base):
    """One activation of a protocol version for a trial, as received (never changed).

    ``sequence`` orders the activations of a trial (enrollment issues it); the version in force
    at a date is the latest-activated one whose ``effective_from`` is on or before it."""

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


class DltReviewRow(Base):
    """An adjudicated DLT whose rule verdict differs under a newer protocol version.

    The signed adjudication is never changed by an amendment; this row asks a safety physician
    to look at it again (``status`` open until they record a review)."""

    __tablename__ = "dlt_protocol_reviews"
    __table_args__ = (UniqueConstraint("dlt_id", "protocol_sequence"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dlt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dlt_cases.id"), index=True)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(String(80))
    ae_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("adverse_events.id"))
    ae_version: Mapped[int] = mapped_column(Integer)
    adjudication: Mapped[str] = mapped_column(String(20))
    adjudicated_under_version: Mapped[str] = mapped_column(String(40))
    adjudicated_matched_rules: Mapped[list[str]] = mapped_column(JSONB, default=list)
    protocol_sequence: Mapped[int] = mapped_column(Integer)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    would_be_suspected: Mapped[bool] = mapped_column()
    would_match_rules: Mapped[list[str]] = mapped_column(JSONB, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
