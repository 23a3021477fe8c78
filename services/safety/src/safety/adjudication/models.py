"""ORM rows of DLT assessments, DLT cases and the electronic signatures on them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class DltAssessmentRow(Base):
    """The DLT rules applied to one version of an adverse event: the protocol version whose rules
    were used (sequence, version, content hash) and the criteria (``matched_rules``) met."""

    __tablename__ = "dlt_assessments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ae_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("adverse_events.id"), index=True)
    ae_version: Mapped[int] = mapped_column(Integer)
    protocol_sequence: Mapped[int] = mapped_column(Integer)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    is_suspected_dlt: Mapped[bool] = mapped_column(Boolean)
    study_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    matched_rules: Mapped[list[str]] = mapped_column(JSONB, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSONB, default=list)
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DltCaseRow(Base):
    """A suspected DLT and its adjudication: suspected, confirmed or ruled out."""

    __tablename__ = "dlt_cases"
    # The list pages in the order cases were opened (doseline.pagination), filtered or not: a
    # key that never changes, so a case adjudicated between two page reads is shown once.
    __table_args__ = (
        Index("ix_dlt_cases_created_at_id", "created_at", "id"),
        Index("ix_dlt_cases_status_created_at_id", "status", "created_at", "id"),
        Index("ix_dlt_cases_trial_id_created_at_id", "trial_id", "created_at", "id"),
        Index(
            "ix_dlt_cases_trial_id_status_created_at_id", "trial_id", "status", "created_at", "id"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ae_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("adverse_events.id"), unique=True)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(20))
    ae_version: Mapped[int] = mapped_column(Integer)
    protocol_sequence: Mapped[int] = mapped_column(Integer)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    matched_rules: Mapped[list[str]] = mapped_column(JSONB, default=list)
    study_day: Mapped[int] = mapped_column(Integer)
    baseline_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Consumers apply the highest sequence they have seen (contracts/safety.py).
    adjudication_sequence: Mapped[int] = mapped_column(Integer)
    # When the case was opened (first suspected); never changes.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DltSignatureRow(Base):
    """21 CFR 11.50/11.70: who signed, when, what it means, and the hash of the signed record."""

    __tablename__ = "dlt_signatures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dlt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dlt_cases.id"), index=True)
    ae_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("adverse_events.id"))
    ae_version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(Text)
    signer_subject: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    record_sha256: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # An edit of the adverse event after signing voids the signature; the row stays.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
