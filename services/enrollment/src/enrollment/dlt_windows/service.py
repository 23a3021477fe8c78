"""DLT window closure: evaluability at the end of each window, replacement, escalation recompute.

Run by a scheduled worker job, never by a request: a window ends when the site's calendar day
(the trial's IANA zone) is past its last day, whatever anyone is doing.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.contracts.enrollment import DltWindowClosed
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.dlt_windows import repository
from enrollment.dlt_windows.rules import (
    DltWindow as WindowDates,
)
from enrollment.dlt_windows.rules import (
    Evaluability,
    assess_evaluability,
    replacement,
)
from enrollment.dosing import repository as dosing_repository
from enrollment.escalation_state import repository as escalation_repository
from enrollment.escalation_state import service as escalation_service
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials.protocols import protocol_of

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "DLT window job <system>"


def close_due_windows(session: Session, now: datetime) -> int:
    """Close every open window whose last day has passed at its site; returns how many."""
    closed = 0
    for trial in trials_repository.list_trials(session):
        protocol = protocol_of(session, trial)
        today = protocol.site.date_of(now)
        due = repository.lock_windows_ending_before(session, trial.id, today)
        if not due:
            continue
        # Take the escalation lock first, as every other writer of the state does.
        escalation_repository.lock_state(session, trial.id)
        for window in due:
            dates = WindowDates(
                first_infusion_on=window.starts_on,
                start=window.starts_on,
                end=window.ends_on,
                days=protocol.dlt_window.days,
            )
            with_dlt = escalation_repository.confirmed_dlt_subjects(session, [window.subject_id])
            suspected = escalation_repository.suspected_dlt_subjects(session, [window.subject_id])
            assessment = assess_evaluability(
                protocol.evaluability,
                dates,
                infusions_received=dosing_repository.given_count(session, window.subject_id),
                confirmed_dlt=window.subject_id in with_dlt,
                today=today,
                suspected_dlt_pending=window.subject_id in suspected,
            )
            if assessment.status is Evaluability.PENDING:
                # A suspected DLT awaits adjudication: neither evaluable nor replaced yet.
                continue
            window.status = "closed"
            window.evaluable = assessment.evaluable
            window.reason = assessment.reason
            window.closed_at = now
            enrolment = cohorts_repository.enrolment_of(session, window.subject_id)
            assert enrolment is not None
            cohort = cohorts_repository.get_cohort(session, enrolment.cohort_id)
            assert cohort is not None
            decision = replacement(
                protocol.evaluability,
                protocol.enrolment,
                assessment,
                enrolled=min(
                    cohorts_repository.trial_enrolled_count(session, trial.id),
                    protocol.enrolment.cap,
                ),
            )
            if decision.replace:
                window.replaced = cohorts_service.add_replacement_slot(
                    session,
                    trial=trial,
                    cohort_id=cohort.id,
                    replaced_subject=window.subject_id,
                    cap=protocol.enrolment.cap,
                )
            session.flush()
            audit.record(
                session,
                actor=SYSTEM_ACTOR,
                action="dlt_window.close",
                entity_type="subject",
                entity_id=window.subject_id,
                before={"status": "open"},
                after={
                    "status": "closed",
                    "evaluable": window.evaluable,
                    "reason": window.reason,
                    "replaced": window.replaced,
                    "replacement": decision.reason,
                },
            )
            outbox.record_event(
                session,
                DltWindowClosed(
                    trial_id=trial.id,
                    subject_id=window.subject_id,
                    site_id=_site_of(session, window.subject_id),
                    cohort_number=cohort.number,
                    dose_level=enrolment.dose_level,
                    window_start=window.starts_on,
                    window_end=window.ends_on,
                    evaluable=assessment.evaluable,
                    reason=assessment.reason,
                ),
                subject=f"subjects/{window.subject_id}",
            )
            log.info(
                "dlt_window.closed",
                subject_id=window.subject_id,
                evaluable=assessment.evaluable,
            )
            closed += 1
        escalation_service.recompute(
            session, trial_id=trial.id, cause="DLT window(s) closed", now=now
        )
    return closed


def _site_of(session: Session, subject_id: str) -> str:
    site_id = subjects_repository.site_of_subject(session, subject_id)
    assert site_id is not None, subject_id  # a DLT window exists only for a registered subject
    return site_id
