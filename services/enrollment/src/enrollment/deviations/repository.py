"""Queries of protocol deviations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import pagination
from enrollment.deviations.models import ProtocolDeviation
from enrollment.dlt_windows.models import DltWindow


def deviations_of(
    session: Session, subject_id: str, *, after: tuple[Any, ...] | None, limit: int
) -> list[ProtocolDeviation]:
    """A page of the subject's deviations in (infusion number, kind) order, after ``after``."""
    return list(
        session.scalars(
            select(ProtocolDeviation)
            .where(
                ProtocolDeviation.subject_id == subject_id,
                pagination.after(after, ProtocolDeviation.infusion_number, ProtocolDeviation.kind),
            )
            .order_by(ProtocolDeviation.infusion_number, ProtocolDeviation.kind)
            .limit(limit)
        )
    )


def recorded_kinds(session: Session, subject_id: str) -> set[tuple[str, int]]:
    """(kind, infusion number) of every deviation already recorded for the subject."""
    rows = session.execute(
        select(ProtocolDeviation.kind, ProtocolDeviation.infusion_number).where(
            ProtocolDeviation.subject_id == subject_id
        )
    ).all()
    return {(row.kind, row.infusion_number) for row in rows}


def treated_windows(session: Session, trial_id: str) -> list[DltWindow]:
    """The DLT windows of the trial: one per subject whose first infusion was given."""
    return list(
        session.scalars(
            select(DltWindow).where(DltWindow.trial_id == trial_id).order_by(DltWindow.subject_id)
        )
    )
