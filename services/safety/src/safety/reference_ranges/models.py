"""ORM rows of a site's reference ranges: the set (versioned as one resource) and its rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKeyConstraint, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class SiteReferenceRangesRow(Base):
    """One site's override set in one trial; replaced as a whole, hence one version for all."""

    __tablename__ = "site_reference_ranges"

    trial_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))


class ReferenceRangeRow(Base):
    """One range of a site's set: an analyte for a sex and an age band."""

    __tablename__ = "reference_ranges"
    __table_args__ = (
        ForeignKeyConstraint(
            ["trial_id", "site_id"],
            ["site_reference_ranges.trial_id", "site_reference_ranges.site_id"],
            ondelete="CASCADE",
        ),
        Index("ix_safety_reference_ranges_site", "trial_id", "site_id", "analyte"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    analyte: Mapped[str] = mapped_column(String(40))
    sex: Mapped[str] = mapped_column(String(10))
    age_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    age_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    low: Mapped[Decimal | None] = mapped_column(Numeric, nullable=True)
    high: Mapped[Decimal | None] = mapped_column(Numeric, nullable=True)
    unit: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200))
