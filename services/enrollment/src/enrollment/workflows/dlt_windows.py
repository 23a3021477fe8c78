"""The DLT-window job: close every window whose last day has passed at its site, then
recompute the escalation state of each trial whose windows it looked at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from enrollment.dlt_windows import service as dlt_windows_service
from enrollment.escalation_state import service as escalation_service
from enrollment.workflows.late_facts import subject_facts


def close_due_windows(session: Session, now: datetime) -> int:
    """Close every open window whose last day has passed at its site; returns how many."""
    closed = 0
    for trial, protocol, today in dlt_windows_service.trials_with_windows_due(session, now):
        # The escalation lock first, as every other writer of the state and of the windows
        # takes it: an infusion being recorded for a due window is either committed before
        # this job counts infusions, or re-assesses the window the job closed.
        escalation_service.lock(session, trial.id)
        due = dlt_windows_service.lock_due_windows(session, trial, today)
        if not due:
            continue
        closed += dlt_windows_service.close_windows(
            session,
            trial=trial,
            protocol=protocol,
            windows=due,
            today=today,
            facts_of=subject_facts,
            now=now,
        )
        escalation_service.recompute(
            session, trial_id=trial.id, cause="DLT window(s) closed", now=now
        )
    return closed
