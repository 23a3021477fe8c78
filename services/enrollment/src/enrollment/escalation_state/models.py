"""ORM rows of the escalation state, its history, DLT facts, decisions and their signatures, and
the resolutions of DLTs that arrived after a signed decision."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
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


class LateDltResolution(Base):
    """How the investigator and the safety physician resolved a DLT confirmed after the decision
    on its cohort was signed and the next cohort opened (ADR 0017).

    `pending` with one signature, `resolved` with both, `superseded` when the escalation state
    changed before the second. A resolved row declares which cohorts' departures from the
    design the replay accepts: those after `decision_cohort_number`, up to
    `last_cohort_number`, and the cohort a revision or an expansion opens after it.
    """

    __tablename__ = "late_dlt_resolutions"
    __table_args__ = (
        Index(
            "uq_late_dlt_resolutions_resolved_dlt",
            "trial_id",
            "dlt_id",
            unique=True,
            postgresql_where=text("status = 'resolved'"),
        ),
        Index(
            "uq_late_dlt_resolutions_pending_dlt",
            "trial_id",
            "dlt_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    dlt_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[str] = mapped_column(String(80))
    subject_cohort_number: Mapped[int] = mapped_column(Integer)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalation_decisions.id"))
    decision_cohort_number: Mapped[int] = mapped_column(Integer)
    last_cohort_number: Mapped[int] = mapped_column(Integer)
    # decision_stands, decision_revised or cohort_expanded
    outcome: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    # decision_revised: the decision that replaces the signed one for what follows
    continue_trial: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_cohort_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revised_decision_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("escalation_decisions.id"), nullable=True
    )
    # cohort_expanded: subjects added at the dose level of cohort `expanded_cohort_number`
    expanded_cohort_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    added_subjects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    opened_cohort_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def accepts_through(self) -> int:
        """The last cohort whose departures from the design this resolution declares."""
        opens_one = self.outcome in {"decision_revised", "cohort_expanded"}
        return self.last_cohort_number + (1 if opens_one else 0)

    def accepts(self, cohort_number: int) -> bool:
        return (
            self.status == "resolved"
            and self.decision_cohort_number < cohort_number <= self.accepts_through
        )


class LateDltResolutionSignature(Base):
    """A signature on a late-DLT resolution, as on a decision (21 CFR 11.50/11.70)."""

    __tablename__ = "late_dlt_resolution_signatures"
    __table_args__ = (
        UniqueConstraint("resolution_id", "role"),
        UniqueConstraint("resolution_id", "signer"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resolution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("late_dlt_resolutions.id"))
    role: Mapped[str] = mapped_column(String(40))
    signer: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(Text)
    state_hash: Mapped[str] = mapped_column(String(64))
    authenticated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
