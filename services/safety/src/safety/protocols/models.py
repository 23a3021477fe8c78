"""ORM rows of the protocol versions safety received, and of the reviews an amendment asks for."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from doseline.protocol_versions import ProtocolVersionColumns
from safety.db import Base


class ProtocolVersionRow(ProtocolVersionColumns, Base):
    """One activation of a protocol version for a trial, as received (never changed)."""

    __tablename__ = "protocol_versions"


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
