"""ORM rows of EHR lab intake: received Observations and the adverse events they propose."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class LabObservationRow(Base):
    """One version of one FHIR Observation as received; (sender, id, version) is received once.

    `outcome` is `graded` for a result graded in the AE reporting period, `history` for one
    before it (or after it): kept for the baseline, never proposed as an AE."""

    __tablename__ = "lab_observations"
    __table_args__ = (
        UniqueConstraint(
            "source", "observation_id", "version_id", name="uq_lab_observations_delivery"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The system that sent it (its token's subject): Observation ids are unique per server only.
    source: Mapped[str] = mapped_column(String(200))
    observation_id: Mapped[str] = mapped_column(String(64), index=True)
    version_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id"), index=True)
    loinc: Mapped[str] = mapped_column(String(20))
    term_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    value: Mapped[Decimal] = mapped_column(Numeric)
    unit: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[date] = mapped_column(Date)
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grading_reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20), default="graded")
    # SHA-256 of the clinical content (doseline.fhir.identity): the same id and version with
    # other content is a conflict, not a duplicate. Null for results received before it was kept.
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LabIntakeConflictRow(Base):
    """An Observation id and version received again with different content, kept for review."""

    __tablename__ = "lab_intake_conflicts"
    __table_args__ = (
        UniqueConstraint(
            "source",
            "observation_id",
            "version_id",
            "content_hash",
            name="uq_lab_intake_conflicts_delivery",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(200))
    observation_id: Mapped[str] = mapped_column(String(64), index=True)
    version_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_content_hash: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id"), index=True)
    # What differs, in clinical terms only: code, value, unit, time and status of each version.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str] = mapped_column(String(200))


class ProposedAdverseEventRow(Base):
    """An adverse event proposed from a graded lab result, awaiting an investigator's decision."""

    __tablename__ = "proposed_adverse_events"

    __table_args__ = (
        UniqueConstraint("source", "observation_id", name="uq_proposed_adverse_events_result"),
        # The list pages in the order proposals were made (doseline.pagination).
        Index("ix_proposed_adverse_events_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # One proposal per Observation of a sender: an amended or corrected result updates it.
    source: Mapped[str] = mapped_column(String(200))
    observation_id: Mapped[str] = mapped_column(String(64))
    observation_version_id: Mapped[str] = mapped_column(String(64))
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id"), index=True)
    ctcae_version: Mapped[str] = mapped_column(String(16))
    term_code: Mapped[str] = mapped_column(String(16))
    term_name: Mapped[str] = mapped_column(String(300))
    proposed_grade: Mapped[int] = mapped_column(Integer)
    grading_reason: Mapped[str] = mapped_column(Text)
    grading_basis: Mapped[dict[str, Any]] = mapped_column(JSONB)
    onset_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    ae_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the proposal was first made; never changes (the list's order, doseline.pagination).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
