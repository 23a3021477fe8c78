"""ORM rows of cohorts, enrolments (slots), replacement slots, the waitlist and reservations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class Cohort(Base):
    """A group of patients treated together at one dose level.

    `planned_size` is the number the design asked for (3 in 3+3); `slots` grows by one for each
    non-evaluable patient replaced in the cohort (PROTOCOL.md: replaced within the cap).
    """

    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("trial_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    number: Mapped[int] = mapped_column(Integer)
    dose_level: Mapped[int] = mapped_column(Integer)
    planned_size: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)
    # open: taking patients; treating: every slot taken; decided: its escalation decision is signed.
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    opened_by_decision_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Enrolment(Base):
    """A subject in a slot of a cohort; `sequence` is the order of inclusion in the trial."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "slot_number"),
        UniqueConstraint("trial_id", "sequence"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), unique=True)
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"), index=True)
    slot_number: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    dose_level: Mapped[int] = mapped_column(Integer)
    protocol_version: Mapped[str] = mapped_column(String(40))
    enrolled_by: Mapped[str] = mapped_column(String(200))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReplacementSlot(Base):
    """The slot a cohort gained because a subject was judged not DLT-evaluable, and what became
    of it when a late fact (an infusion, a DLT, a correction) showed the judgement was wrong.

    `open`: the premise holds. `withdrawn`: the premise failed while the slot was empty, so the
    cohort lost it again. `flagged`: the premise failed after someone took the slot; the
    investigator must review the cohort (`occupant_subject_id` is who took it).
    """

    __tablename__ = "replacement_slots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"), index=True)
    replaced_subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    # open, withdrawn or flagged
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    premise_failed: Mapped[str | None] = mapped_column(Text, nullable=True)
    occupant_subject_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class WaitlistEntry(Base):
    """A screened subject waiting for a slot, in the order they joined."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (UniqueConstraint("trial_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    # waiting, enrolled or removed (taken off without a slot; may join again at the end)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SlotReservation(Base):
    """A slot held for an eligible subject until `expires_at`; unused, it returns to the cohort."""

    __tablename__ = "slot_reservations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    cohort_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cohorts.id"), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    # active, used, expired or released
    status: Mapped[str] = mapped_column(String(20), default="active")
    reserved_by: Mapped[str] = mapped_column(String(200))
    reserved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
