"""ORM rows of the escalation state, its history, DLT facts, decisions and their signatures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class EscalationState(Base):
    """The current state of one trial's escalation; its row is the lock every recompute takes."""

    __tablename__ = "escalation_states"

    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    outcomes: Mapped[str] = mapped_column(Text, default="")
    state_hash: Mapped[str] = mapped_column(String(64))
    history_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EscalationHistory(Base):
    """Every state the escalation went through, reproducible from its outcome string."""

    __tablename__ = "escalation_history"
    __table_args__ = (UniqueConstraint("trial_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    seq: Mapped[int] = mapped_column(Integer)
    outcomes: Mapped[str] = mapped_column(Text)
    complete_cohorts: Mapped[int] = mapped_column(Integer)
    continue_trial: Mapped[bool] = mapped_column(Boolean)
    next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state_hash: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DltFact(Base):
    """The latest adjudication of one DLT from the safety service (highest sequence wins)."""

    __tablename__ = "dlt_facts"

    dlt_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    trial_id: Mapped[str] = mapped_column(String(60), index=True)
    subject_id: Mapped[str] = mapped_column(String(80), index=True)
    # confirmed or ruled_out
    status: Mapped[str] = mapped_column(String(20))
    adjudication_sequence: Mapped[int] = mapped_column(Integer)
    ae_id: Mapped[str] = mapped_column(String(80))
    grade: Mapped[int] = mapped_column(Integer)
    study_day: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(64))
    adjudicated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # False while no enrolled subject of the trial has this id (kept, applied once one does).
    matched: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class EscalationDecision(Base):
    """The decision on one complete cohort: pending until both signatures, then in effect."""

    __tablename__ = "escalation_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    cohort_number: Mapped[int] = mapped_column(Integer)
    history_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalation_history.id"))
    outcomes: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    continue_trial: Mapped[bool] = mapped_column(Boolean)
    next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_cohort_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    state_hash: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_hash: Mapped[str] = mapped_column(String(80))
    # pending, decided or superseded (the state changed before both signatures)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_cohort_opened: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DecisionSignature(Base):
    """An electronic signature on a decision (21 CFR 11.50/11.70): who, role, meaning, when and
    the hash of the state signed."""

    __tablename__ = "decision_signatures"
    __table_args__ = (
        UniqueConstraint("decision_id", "role"),
        UniqueConstraint("decision_id", "signer"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalation_decisions.id"))
    role: Mapped[str] = mapped_column(String(40))
    signer: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(Text)
    state_hash: Mapped[str] = mapped_column(String(64))
    authenticated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
