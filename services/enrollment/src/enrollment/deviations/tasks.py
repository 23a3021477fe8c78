"""The scheduled job that records missed infusions (one worker at a time, idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from doseline.manifest import PeriodicJob, in_one_transaction
from enrollment.deviations.service import record_missed_infusions


def record_missed(session: Session, now: datetime) -> None:
    record_missed_infusions(session, now)


RECORD_MISSED_INFUSIONS = PeriodicJob(
    name="enrollment.record_missed_infusions",
    every=timedelta(minutes=1),
    run=in_one_transaction(record_missed),
)
