"""ORM rows of adverse events: the event, its versions (follow-ups) and the SAE clock."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class AdverseEventRow(Base):
    """One adverse event of one subject; its clinical content lives in numbered versions."""

    __tablename__ = "adverse_events"
    __table_args__ = (
        Index(
            "ix_adverse_events_sae_clock_running",
            "report_due_at",
            postgresql_where=text("serious AND reported_to_sponsor_at IS NULL"),
        ),
        # Lists page in the order reported (doseline.pagination), by trial, by subject or all.
        Index("ix_adverse_events_created_at_id", "created_at", "id"),
        Index("ix_adverse_events_trial_id_created_at_id", "trial_id", "created_at", "id"),
        Index("ix_adverse_events_subject_id_created_at_id", "subject_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trial_id: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.subject_id"), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    # SAE clock (protocol: ≤24 h from the site's awareness to the sponsor).
    aware_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reported_to_sponsor_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    overdue_raised_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # "awaiting_dlt_window" until enrollment's infusion event gives the subject's DLT window.
    dlt_evaluation: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class AdverseEventVersionRow(Base):
    """The content of an adverse event as reported or followed up; never changed once written."""

    __tablename__ = "adverse_event_versions"

    ae_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("adverse_events.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    ctcae_version: Mapped[str] = mapped_column(String(16))
    term_code: Mapped[str] = mapped_column(String(16))
    term_name: Mapped[str] = mapped_column(String(300))
    verbatim: Mapped[str] = mapped_column(Text)
    specification: Mapped[str | None] = mapped_column(Text, nullable=True)
    onset_date: Mapped[date] = mapped_column(Date)
    resolution_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    grade: Mapped[int] = mapped_column(Integer)
    # Grading assistance: what the rules proposed, beside what the investigator decided.
    proposed_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proposed_grade_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    grading_basis: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    seriousness: Mapped[list[str]] = mapped_column(JSONB, default=list)
    attribution: Mapped[str] = mapped_column(String(20))
    expected: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    action_taken: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    reason_for_change: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))

    def content(self, ae: AdverseEventRow) -> dict[str, Any]:
        """The canonical content of this version: what an audit entry and a signature cover."""
        return {
            "ae_id": str(ae.id),
            "trial_id": ae.trial_id,
            "subject_id": ae.subject_id,
            "version": self.number,
            "ctcae_version": self.ctcae_version,
            "term_code": self.term_code,
            "term": self.term_name,
            "verbatim": self.verbatim,
            "specification": self.specification,
            "onset_date": self.onset_date,
            "resolution_date": self.resolution_date,
            "grade": self.grade,
            "proposed_grade": self.proposed_grade,
            "seriousness": list(self.seriousness),
            "attribution": self.attribution,
            "expected": self.expected,
            "action_taken": self.action_taken,
            "outcome": self.outcome,
            "reason_for_change": self.reason_for_change,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
        }
