"""ORM row of one uploaded segmentation and the progress of its measurement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from imaging.db import Base


class CtAnalysisRow(Base):
    """An uploaded segmentation: queued → processing → done (with an assessment) or failed."""

    __tablename__ = "ct_analyses"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id", ondelete="RESTRICT"))
    performed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    file_format: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When its work order (the imaging.ct.uploaded event) was last written: at the upload, and
    # again by the sweeper when no worker has finished it a lease later (a lost message).
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    processing_seconds: Mapped[float | None] = mapped_column(nullable=True)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="RESTRICT"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_ct_analyses_status", "status", "created_at"),
        Index("ix_ct_analyses_subject_id_created_at_id", "subject_id", "created_at", "id"),
    )
