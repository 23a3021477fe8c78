"""The scheduled job that closes DLT windows (one worker at a time, idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from doseline.manifest import PeriodicJob, in_one_transaction
from enrollment.workflows.dlt_windows import close_due_windows


def close_dlt_windows(session: Session, now: datetime) -> None:
    close_due_windows(session, now)


CLOSE_DLT_WINDOWS = PeriodicJob(
    name="enrollment.close_dlt_windows",
    every=timedelta(minutes=1),
    run=in_one_transaction(close_dlt_windows),
)
