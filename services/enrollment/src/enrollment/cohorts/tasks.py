"""The scheduled job that marks lapsed slot reservations expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from doseline.manifest import PeriodicJob, in_one_transaction
from enrollment.cohorts.service import expire_reservations


def expire_slot_reservations(session: Session, now: datetime) -> None:
    expire_reservations(session, now)


EXPIRE_RESERVATIONS = PeriodicJob(
    name="enrollment.expire_slot_reservations",
    every=timedelta(minutes=5),
    run=in_one_transaction(expire_slot_reservations),
)
