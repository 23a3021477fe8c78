"""ORM row of one outcome assessment with its inputs, derived results and visit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from imaging.db import Base


class AssessmentRow(Base):
    """One assessment of one kind (ct, pft, walk, blood_gas, sgrq) of one subject on one day."""

    __tablename__ = "assessments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    performed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The site's calendar day of performed_at (the subject's site time zone).
    performed_on: Mapped[date] = mapped_column(Date)
    visit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    visit_target_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    days_from_target: Mapped[int | None] = mapped_column(Integer, nullable=True)
    out_of_window: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    results: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Headline numbers by name (e.g. lesion_fraction, fev1_percent_predicted), for time series.
    metrics: Mapped[dict[str, float | None]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(40))
    # The system that sent the FHIR Observation (its token's subject): ids are unique per server.
    fhir_sender: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fhir_observation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fhir_version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_assessments_subject_kind", "subject_id", "kind", "performed_at"),
        Index("ix_assessments_subject_id_performed_at_id", "subject_id", "performed_at", "id"),
        Index("ix_assessments_trial_kind_visit", "trial_id", "kind", "visit"),
        Index(
            "uq_assessments_fhir_observation",
            "fhir_sender",
            "fhir_observation_id",
            unique=True,
            postgresql_where="fhir_observation_id IS NOT NULL",
        ),
    )
