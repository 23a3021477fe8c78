"""Correcting a subject's consent date and withdrawing a subject: the subject's rows, then what
follows for its DLT window, its pending preparations and the escalation state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.contracts.enrollment import WithdrawalReason
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Enrolment
from enrollment.dlt_windows import service as dlt_windows_service
from enrollment.dosing import service as dosing_service
from enrollment.escalation_state import service as escalation_service
from enrollment.subjects import service as subjects_service
from enrollment.subjects.models import Subject, SubjectWithdrawal
from enrollment.trials.models import Trial
from enrollment.workflows import late_facts


def record_consent(
    session: Session,
    *,
    subject_id: str,
    consent_signed_on: date,
    reason: str | None,
    if_match: str | None,
    principal: Principal,
    now: datetime,
) -> Subject:
    """Record (or correct, with a reason) the date the subject signed the consent form; a
    correction re-assesses the subject's closed DLT window."""
    subject = subjects_service.consent_to_record(
        session,
        subject_id=subject_id,
        consent_signed_on=consent_signed_on,
        reason=reason,
        if_match=if_match,
        now=now,
    )
    cohorts_service.refuse_consent_after_enrolment(session, subject, consent_signed_on)
    correction = subject.consent_signed_on is not None
    if correction:
        late_facts.hold_for_late_fact(session, subject_id=subject.id)
    subjects_service.store_consent(
        session, subject, consent_signed_on=consent_signed_on, reason=reason, principal=principal
    )
    if correction:
        late_facts.reopen_for_late_fact(
            session,
            subject_id=subject.id,
            late_fact=f"consent date corrected by {principal.audit_name}: {reason}",
            now=now,
        )
    return subject


@dataclass(frozen=True)
class Withdrawal:
    """A recorded withdrawal and what it did."""

    subject: Subject
    withdrawal: SubjectWithdrawal
    cancelled_preparations: tuple[int, ...]
    judgement: dlt_windows_service.WithdrawalJudgement


def withdraw_subject(
    session: Session,
    *,
    subject_id: str,
    reason: WithdrawalReason,
    effective_on: date,
    details: str,
    safety_follow_up: bool,
    if_match: str | None,
    principal: Principal,
    now: datetime,
) -> Withdrawal:
    """Withdraw or discontinue an enrolled subject from `effective_on` (a site calendar day).

    No further dose: pending preparations are cancelled and infusions refused. The subject's
    DLT evaluability is judged with the withdrawal counted (a replacement slot within the cap
    if not evaluable), and the escalation state is recomputed in the same transaction.
    """
    subject, enrolment, trial = _withdrawable(
        session,
        subject_id=subject_id,
        reason=reason,
        effective_on=effective_on,
        safety_follow_up=safety_follow_up,
        if_match=if_match,
        principal=principal,
        now=now,
    )
    cancelled = _stop_dosing(
        session,
        trial_id=trial.id,
        subject_id=subject_id,
        why=f"subject withdrawn ({reason}) on {effective_on.isoformat()}",
        principal=principal,
        now=now,
    )
    withdrawal = subjects_service.store_withdrawal(
        session,
        subject,
        reason=reason,
        effective_on=effective_on,
        details=details,
        safety_follow_up=safety_follow_up,
        cancelled_preparations=cancelled,
        principal=principal,
        now=now,
    )
    judgement = dlt_windows_service.judge_withdrawal(
        session,
        subject_id=subject_id,
        late_fact=f"withdrawn ({reason}) on {effective_on.isoformat()} by {principal.audit_name}",
        facts_of=late_facts.subject_facts,
        now=now,
    )
    subjects_service.publish_withdrawal(
        session,
        subject,
        withdrawal,
        reason=reason,
        cohort_number=cohorts_service.cohort_number_of(session, enrolment.cohort_id),
        dose_level=enrolment.dose_level,
        infusions_received=dosing_service.infusions_given(session, subject_id),
        dlt_evaluability=judgement.status.value,
        replacement_slot_opened=judgement.replacement_slot_opened,
    )
    escalation_service.recompute(
        session, trial_id=trial.id, cause=f"subject {subject_id} withdrawn", now=now
    )
    return Withdrawal(subject, withdrawal, cancelled, judgement)


def _withdrawable(
    session: Session,
    *,
    subject_id: str,
    reason: WithdrawalReason,
    effective_on: date,
    safety_follow_up: bool,
    if_match: str | None,
    principal: Principal,
    now: datetime,
) -> tuple[Subject, Enrolment, Trial]:
    """The subject (locked), its enrolment and trial, if the caller may record this
    withdrawal: the subject's checks, then the enrolment's, then the dates'."""
    subject = subjects_service.subject_to_withdraw(
        session, subject_id=subject_id, reason=reason, principal=principal
    )
    enrolment = cohorts_service.enrolment_to_withdraw(session, subject)
    trial = subjects_service.check_withdrawal(
        session,
        subject,
        enrolled_at=enrolment.enrolled_at,
        reason=reason,
        effective_on=effective_on,
        safety_follow_up=safety_follow_up,
        if_match=if_match,
        now=now,
    )
    return subject, enrolment, trial


def _stop_dosing(
    session: Session,
    *,
    trial_id: str,
    subject_id: str,
    why: str,
    principal: Principal,
    now: datetime,
) -> tuple[int, ...]:
    """Take the locks judging the withdrawal needs, in every writer's order (escalation state,
    window, cohort) before the withdrawal's first audit entry, then cancel the doses prepared
    and not given; the infusion numbers cancelled."""
    escalation_service.lock(session, trial_id)
    dlt_windows_service.lock_window(session, subject_id=subject_id)
    return dosing_service.cancel_pending_preparations(
        session, subject_id=subject_id, why=why, actor=principal.audit_name, now=now
    )
