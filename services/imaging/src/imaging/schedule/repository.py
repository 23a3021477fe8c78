"""Queries of trials' outcome settings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imaging.schedule.models import TrialSettingsRow


def trial_settings(
    session: Session, trial_id: str, *, lock: bool = False
) -> TrialSettingsRow | None:
    query = select(TrialSettingsRow).where(TrialSettingsRow.trial_id == trial_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def lock_trial(session: Session, trial_id: str) -> None:
    """Serialise registrations of one trial's settings, its first registration included."""
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"imaging.trial_settings.{trial_id}")))
    )
