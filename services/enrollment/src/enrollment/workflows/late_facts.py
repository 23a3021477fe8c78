"""A fact recorded after a subject's DLT window closed: the window is re-assessed in the
transaction that records it, and the escalation state follows when the judgement changed
(docs/adr/0006-late-facts-reopen-evaluability.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from enrollment.dlt_windows import service as dlt_windows_service
from enrollment.dlt_windows.service import Reassessment


def hold_for_late_fact(session: Session, *, subject_id: str) -> None:
    """The locks a re-assessment may need, in every writer's order: call it before the use
    case writes its first audit entry."""
    dlt_windows_service.hold_for_late_fact(session, subject_id=subject_id)


def reopen_for_late_fact(
    session: Session, *, subject_id: str, late_fact: str, now: datetime
) -> Reassessment | None:
    """Re-assess the subject's closed window, and recompute the escalation state when the
    judgement changed."""
    return dlt_windows_service.reopen_for_late_fact(
        session, subject_id=subject_id, late_fact=late_fact, now=now
    )
