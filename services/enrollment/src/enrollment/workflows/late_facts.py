"""A fact recorded after a subject's DLT window closed: the window is re-assessed in the
transaction that records it, and the escalation state follows when the judgement changed
(docs/adr/0006-late-facts-reopen-evaluability.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from enrollment.dlt_windows import service as dlt_windows_service
from enrollment.dlt_windows.service import Reassessment, SubjectFacts
from enrollment.dosing import service as dosing_service
from enrollment.escalation_state import service as escalation_service
from enrollment.protocol import Protocol


def subject_facts(session: Session, protocol: Protocol, subject_id: str) -> SubjectFacts:
    """What the subject's DLT evaluability rests on, from dosing and the DLT adjudications."""
    return SubjectFacts(
        infusions_received=dosing_service.infusions_given(session, subject_id),
        short_infusions=dosing_service.short_infusions(session, protocol, subject_id),
        confirmed_dlt=escalation_service.has_confirmed_dlt(session, subject_id),
        suspected_dlt_pending=escalation_service.has_suspected_dlt(session, subject_id),
    )


def hold_for_late_fact(session: Session, *, subject_id: str) -> None:
    """Take the locks a re-assessment of the subject's window may need, in the order every
    writer takes them (escalation state, window, cohort): call it before the use case writes
    its first audit entry. Nothing to lock for a subject without a window."""
    trial_id = dlt_windows_service.trial_to_hold(session, subject_id=subject_id)
    if trial_id is None:
        return
    escalation_service.lock(session, trial_id)
    dlt_windows_service.lock_window(session, subject_id=subject_id)


def reassess_window(
    session: Session, *, subject_id: str, late_fact: str, now: datetime
) -> Reassessment | None:
    """Re-assess the subject's closed window with every fact stored now; the caller recomputes
    the escalation state (once, after all its facts are stored)."""
    return dlt_windows_service.reassess_window(
        session, subject_id=subject_id, late_fact=late_fact, facts_of=subject_facts, now=now
    )


def reopen_for_late_fact(
    session: Session, *, subject_id: str, late_fact: str, now: datetime
) -> Reassessment | None:
    """Re-assess the subject's closed window after a late fact, and bring the escalation state
    in step when the judgement changed. Called in the transaction that records the fact."""
    result = reassess_window(session, subject_id=subject_id, late_fact=late_fact, now=now)
    if result is not None and result.changed:
        escalation_service.recompute(
            session, trial_id=result.trial_id, cause=f"late fact: {late_fact}", now=now
        )
    return result
