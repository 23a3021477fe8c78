"""ORM rows of trials and the protocol versions they run under."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class ProtocolVersionRow(Base):
    """One version of a protocol document, kept verbatim; decisions cite it by version and hash."""

    __tablename__ = "protocol_versions"
    __table_args__ = (UniqueConstraint("protocol_id", "content_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    protocol_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(80))
    document: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Trial(Base):
    """A trial, keyed by its code (e.g. HDMSC-RP-01), and the protocol version now in force."""

    __tablename__ = "trials"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    protocol_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protocol_versions.id"))
    site: Mapped[str] = mapped_column(String(120))
    time_zone: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="open")
    # The last study subject number issued (HDMSC-RP-01-001 is number 1); issued under a row lock.
    last_subject_number: Mapped[int] = mapped_column(Integer, default=0)
    mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
