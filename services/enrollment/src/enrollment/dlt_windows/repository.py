"""Queries of DLT windows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from enrollment.dlt_windows.models import DltWindow


def window_of(session: Session, subject_id: str) -> DltWindow | None:
    return session.get(DltWindow, subject_id)


def lock_window(session: Session, subject_id: str) -> DltWindow | None:
    """The subject's window, locked and read afresh (not from the session's identity map)."""
    return session.scalars(
        select(DltWindow)
        .where(DltWindow.subject_id == subject_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def any_window_due(session: Session, trial_id: str, day: date) -> bool:
    """Whether an open window of the trial ended before `day` (no lock taken)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    DltWindow.trial_id == trial_id,
                    DltWindow.status == "open",
                    DltWindow.ends_on < day,
                )
            )
        )
    )


def lock_windows_ending_before(session: Session, trial_id: str, day: date) -> list[DltWindow]:
    """Open windows whose last day is before `day`, locked; ones another worker holds are
    skipped (it is closing them)."""
    return list(
        session.scalars(
            select(DltWindow)
            .where(
                DltWindow.trial_id == trial_id,
                DltWindow.status == "open",
                DltWindow.ends_on < day,
            )
            .order_by(DltWindow.ends_on, DltWindow.subject_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
