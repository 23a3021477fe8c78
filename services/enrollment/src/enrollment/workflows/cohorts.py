"""Enrolling a subject and opening the next cohort: the cohorts change, and the escalation
state, derived from them, follows in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from doseline.auth import Principal
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Enrolment
from enrollment.escalation_state import service as escalation_service


def enrol(
    session: Session, *, trial_id: str, subject_id: str, principal: Principal, now: datetime
) -> Enrolment:
    """Enrol the subject into the open cohort; a DLT received before it now counts."""
    trial, subject = cohorts_service.enrollable(
        session, trial_id=trial_id, subject_id=subject_id, now=now
    )
    # The escalation state before the cohort, as every writer of both locks them.
    escalation_service.lock(session, trial_id)
    enrolment = cohorts_service.enrol(
        session, trial=trial, subject=subject, principal=principal, now=now
    )
    escalation_service.recompute(
        session, trial_id=trial_id, cause=f"subject {subject_id} enrolled", now=now
    )
    return enrolment


def open_next_cohort(
    session: Session, *, trial_id: str, principal: Principal, now: datetime
) -> cohorts_service.CohortSummary:
    """The cohort the signed escalation decision calls for, opened, as the cohorts show it."""
    cohort = escalation_service.open_next_cohort(
        session, trial_id=trial_id, principal=principal, now=now
    )
    return cohorts_service.summarise(session, cohort, now=now)
