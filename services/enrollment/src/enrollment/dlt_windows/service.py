"""DLT window closure and re-assessment: evaluability at the end of each window, replacement,
and the same computation re-opened by a fact that arrives late.

Windows are closed by a scheduled worker job, never by a request: a window ends when the site's
calendar day (the trial's IANA zone) is past its last day, whatever anyone is doing. Facts keep
arriving after that (an infusion entered late, a DLT adjudicated late, a correction); each one
re-assesses the closed window at once, in the transaction that records it, so no closed
computation ever silently ignores a fact (docs/adr/0006-late-facts-reopen-evaluability.md).

Lock order, for every writer: the trial's escalation state, then DLT windows, then cohorts,
all before the first audit entry (the audit trail's lock is held from the first entry of a
transaction to its commit, so a row lock taken after it can deadlock with an enrolment).

The escalation state and dosing sit above this package: what they record about a subject
(infusions, DLTs) is handed in as `SubjectFacts` by a `FactsOf` the caller passes, and the
escalation lock and recompute around these steps are the caller's
(`enrollment.workflows.dlt_windows`, `enrollment.workflows.late_facts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, TypedDict

import structlog
from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.contracts.enrollment import DltWindowClosed, DltWindowReassessed
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Cohort, Enrolment, ReplacementSlot
from enrollment.dlt_windows import repository
from enrollment.dlt_windows.models import DltWindow
from enrollment.dlt_windows.rules import (
    DltWindow as WindowDates,
)
from enrollment.dlt_windows.rules import (
    Evaluability,
    EvaluabilityAssessment,
    assess_evaluability,
    replacement,
)
from enrollment.protocol import Protocol
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "DLT window job <system>"
REASSESSMENT_ACTOR = "enrollment service <system>"
_EVENT_STATUS: dict[Evaluability, Literal["evaluable", "not-evaluable", "pending"]] = {
    Evaluability.EVALUABLE: "evaluable",
    Evaluability.NOT_EVALUABLE: "not-evaluable",
    Evaluability.PENDING: "pending",
}


@dataclass(frozen=True)
class SubjectFacts:
    """What dosing and the DLT adjudications record about a subject, as its evaluability
    needs them."""

    infusions_received: int
    # Infusions the protocol requires in full that were given short, described (docs/adr/0016).
    short_infusions: list[str]
    confirmed_dlt: bool
    suspected_dlt_pending: bool


# Reads the facts of one subject (`session`, the protocol in force, the subject id).
FactsOf = Callable[[Session, Protocol, str], SubjectFacts]


def _assess(
    session: Session, protocol: Protocol, window: DltWindow, *, today: date, facts_of: FactsOf
) -> EvaluabilityAssessment:
    """The subject's evaluability from every fact stored now."""
    dates = WindowDates(
        first_infusion_on=window.starts_on,
        start=window.starts_on,
        end=window.ends_on,
        days=protocol.dlt_window.days,
    )
    withdrawal = subjects_repository.withdrawal_of(session, window.subject_id)
    facts = facts_of(session, protocol, window.subject_id)
    return assess_evaluability(
        protocol.evaluability,
        dates,
        infusions_received=facts.infusions_received,
        confirmed_dlt=facts.confirmed_dlt,
        today=today,
        withdrawn_on=None if withdrawal is None else withdrawal.effective_on,
        suspected_dlt_pending=facts.suspected_dlt_pending,
        short_infusions=facts.short_infusions,
    )


def _cohort_of(session: Session, subject_id: str) -> tuple[Enrolment, Cohort]:
    enrolment = cohorts_repository.enrolment_of(session, subject_id)
    assert enrolment is not None
    cohort = cohorts_repository.get_cohort(session, enrolment.cohort_id)
    assert cohort is not None
    return enrolment, cohort


def _replace_if_due(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    window: DltWindow,
    cohort: Cohort,
    assessment: EvaluabilityAssessment,
    now: datetime,
) -> str:
    """Open a replacement slot for a non-evaluable subject if the protocol and the cap allow;
    returns the replacement decision's reason."""
    decision = replacement(
        protocol.evaluability,
        protocol.enrolment,
        assessment,
        enrolled=min(
            cohorts_repository.trial_enrolled_count(session, trial.id),
            protocol.enrolment.cap,
        ),
    )
    if decision.replace and window.replaced:
        # A slot flagged when a late fact made the subject evaluable: valid again.
        cohorts_service.restore_flagged_replacement_slot(
            session,
            trial=trial,
            replaced_subject=window.subject_id,
            reason=assessment.reason,
            now=now,
        )
    elif decision.replace:
        window.replaced = cohorts_service.add_replacement_slot(
            session,
            trial=trial,
            cohort_id=cohort.id,
            replaced_subject=window.subject_id,
            reason=decision.reason,
            cap=protocol.enrolment.cap,
            now=now,
        )
    return decision.reason


class _WindowFacts(TypedDict):
    subject_id: str
    site_id: str
    cohort_number: int
    dose_level: int
    window_start: date
    window_end: date


def _window_facts(
    session: Session, window: DltWindow, enrolment: Enrolment, cohort: Cohort
) -> _WindowFacts:
    """What every DLT window event says of the window: its subject, site, cohort and days."""
    return _WindowFacts(
        subject_id=window.subject_id,
        site_id=subjects_repository.site_of_registered_subject(session, window.subject_id),
        cohort_number=cohort.number,
        dose_level=enrolment.dose_level,
        window_start=window.starts_on,
        window_end=window.ends_on,
    )


def _close_window(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    window: DltWindow,
    assessment: EvaluabilityAssessment,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Close the window with its (decided) evaluability, replace the subject if due, audit and
    publish it; the caller holds the escalation, window and cohort locks."""
    window.status = "closed"
    window.evaluable = assessment.evaluable
    window.reason = assessment.reason
    window.closed_at = now
    enrolment, cohort = _cohort_of(session, window.subject_id)
    replacement_reason = _replace_if_due(
        session,
        trial=trial,
        protocol=protocol,
        window=window,
        cohort=cohort,
        assessment=assessment,
        now=now,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt_window.close",
        entity_type="subject",
        entity_id=window.subject_id,
        before={"status": "open"},
        after={
            "status": "closed",
            "evaluable": window.evaluable,
            "reason": window.reason,
            "replaced": window.replaced,
            "replacement": replacement_reason,
        },
        reason=reason,
    )
    outbox.record_event(
        session,
        DltWindowClosed(
            trial_id=trial.id,
            **_window_facts(session, window, enrolment, cohort),
            evaluable=assessment.evaluable,
            reason=assessment.reason,
        ),
        subject=f"subjects/{window.subject_id}",
    )
    log.info("dlt_window.closed", subject_id=window.subject_id, evaluable=assessment.evaluable)


def trials_with_windows_due(session: Session, now: datetime) -> list[tuple[Trial, Protocol, date]]:
    """Trials with an open window whose last day has passed at the site, with the protocol in
    force and the site's day."""
    due = []
    for trial in trials_repository.list_trials(session):
        protocol = protocol_of(session, trial)
        today = protocol.site.date_of(now)
        if repository.any_window_due(session, trial.id, today):
            due.append((trial, protocol, today))
    return due


def lock_due_windows(session: Session, trial: Trial, today: date) -> list[DltWindow]:
    """The trial's open windows ending before `today`, locked with their cohorts (the caller
    holds the escalation lock: an infusion being recorded for a due window is either committed
    before the windows are assessed, or re-assesses the window closed here)."""
    due = repository.lock_windows_ending_before(session, trial.id, today)
    cohort_ids = {_cohort_of(session, window.subject_id)[1].id for window in due}
    for cohort_id in sorted(cohort_ids):
        cohorts_repository.get_cohort(session, cohort_id, for_update=True)
    return due


def close_windows(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    windows: list[DltWindow],
    today: date,
    facts_of: FactsOf,
    now: datetime,
) -> int:
    """Close each window (from `lock_due_windows`) whose evaluability is decided; how many."""
    closed = 0
    for window in windows:
        assessment = _assess(session, protocol, window, today=today, facts_of=facts_of)
        if assessment.status is Evaluability.PENDING:
            # A suspected DLT awaits adjudication: neither evaluable nor replaced yet.
            continue
        _close_window(
            session,
            trial=trial,
            protocol=protocol,
            window=window,
            assessment=assessment,
            actor=SYSTEM_ACTOR,
            reason=None,
            now=now,
        )
        closed += 1
    return closed


@dataclass(frozen=True)
class Reassessment:
    """What a late fact changed in a closed window's judgement."""

    subject_id: str
    trial_id: str
    status: Evaluability
    previous_evaluable: bool | None
    reason: str
    # The evaluability changed (or the window re-opened): the escalation state must follow.
    changed: bool
    replacement_slot: ReplacementSlot | None


def trial_to_hold(session: Session, *, subject_id: str) -> str | None:
    """The trial whose escalation lock a re-assessment of the subject's window needs; None
    when the subject has no window (nothing to re-assess)."""
    if repository.window_of(session, subject_id) is None:
        return None
    enrolment = cohorts_repository.enrolment_of(session, subject_id)
    assert enrolment is not None
    return enrolment.trial_id


def lock_window(session: Session, *, subject_id: str) -> None:
    """Lock the subject's window and its cohort, after the trial's escalation lock and before
    the use case's first audit entry (every writer's order).

    Waits for a DLT-window job that is closing windows of the trial right now, so the window
    is then read as the job left it (closed without this fact), and re-assessed."""
    enrolment = cohorts_repository.enrolment_of(session, subject_id)
    assert enrolment is not None
    repository.lock_window(session, subject_id)
    cohorts_repository.get_cohort(session, enrolment.cohort_id, for_update=True)


def reassess_window(
    session: Session, *, subject_id: str, late_fact: str, facts_of: FactsOf, now: datetime
) -> Reassessment | None:
    """Re-assess the subject's closed DLT window with every fact stored now.

    Does not recompute the escalation state (the caller does, once, after all its facts are
    stored). None when there is nothing to re-assess: no window, or a window still open (the
    job judges it at its end, with every fact stored by then). The locks must have been taken
    first in the transaction, before its first audit entry (`trial_to_hold`, the escalation
    lock, `lock_window`: enrollment.workflows.late_facts.hold_for_late_fact).

    - not evaluable → evaluable (a late fourth infusion, a late confirmed DLT): the window
      says so, and the replacement slot it opened is withdrawn if still free, or flagged for
      the investigator if someone took it;
    - evaluable → not evaluable (a confirmed DLT ruled out for a subject short of infusions):
      replaced, as the job would have;
    - → pending (a suspected DLT raised late for a non-evaluable subject): the window re-opens
      and its replacement slot is withdrawn (or flagged) until the DLT is adjudicated; the job
      closes the window again then.
    """
    # Read as `lock_window` locked it (a window created by this transaction is open).
    window = repository.window_of(session, subject_id)
    if window is None or window.status != "closed":
        return None
    enrolment, cohort = _cohort_of(session, subject_id)
    trial = trials_repository.get_trial(session, enrolment.trial_id)
    assert trial is not None
    protocol = protocol_of(session, trial)
    # A closed window stays completed: judge it as of a day after its end, whatever the clock.
    today = max(protocol.site.date_of(now), window.ends_on + timedelta(days=1))
    assessment = _assess(session, protocol, window, today=today, facts_of=facts_of)
    before = _judgement_of(window)
    pending = assessment.status is Evaluability.PENDING
    changed = pending or assessment.evaluable != window.evaluable
    if not changed and assessment.reason == window.reason:
        return None
    previous_evaluable = window.evaluable
    _rejudge(window, assessment)
    slot = (
        _follow_replacement(
            session,
            trial=trial,
            protocol=protocol,
            window=window,
            cohort=cohort,
            assessment=assessment,
            late_fact=late_fact,
            now=now,
        )
        if changed
        else None
    )
    session.flush()
    _audit_reassessment(session, window, before, slot, late_fact)
    if changed:
        _publish_reassessment(
            session, window, enrolment, cohort, assessment, previous_evaluable, late_fact
        )
    log.info(
        "dlt_window.reassessed",
        subject_id=subject_id,
        status=assessment.status.value,
        changed=changed,
        replacement_slot=None if slot is None else slot.status,
    )
    return Reassessment(
        subject_id=subject_id,
        trial_id=trial.id,
        status=assessment.status,
        previous_evaluable=previous_evaluable,
        reason=assessment.reason,
        changed=changed,
        replacement_slot=slot,
    )


def _judgement_of(window: DltWindow) -> dict[str, object]:
    return {
        "status": window.status,
        "evaluable": window.evaluable,
        "reason": window.reason,
        "replaced": window.replaced,
    }


def _audit_reassessment(
    session: Session,
    window: DltWindow,
    before: dict[str, object],
    slot: ReplacementSlot | None,
    late_fact: str,
) -> None:
    audit.record(
        session,
        actor=REASSESSMENT_ACTOR,
        action="dlt_window.reassess",
        entity_type="subject",
        entity_id=window.subject_id,
        before=before,
        after={
            **_judgement_of(window),
            "replacement_slot": None if slot is None else slot.status,
        },
        reason=f"late fact: {late_fact}",
    )


def _rejudge(window: DltWindow, assessment: EvaluabilityAssessment) -> None:
    """The window says what the assessment found; pending re-opens it until the job closes it."""
    window.reason = assessment.reason
    if assessment.status is Evaluability.PENDING:
        window.status = "open"
        window.evaluable = None
        window.closed_at = None
    else:
        window.evaluable = assessment.evaluable


def _follow_replacement(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    window: DltWindow,
    cohort: Cohort,
    assessment: EvaluabilityAssessment,
    late_fact: str,
    now: datetime,
) -> ReplacementSlot | None:
    """After a changed judgement: a subject no longer non-evaluable gives back the slot opened
    to replace it (withdrawn if free, else flagged); a subject now non-evaluable is replaced."""
    pending = assessment.status is Evaluability.PENDING
    if (pending or assessment.evaluable) and window.replaced:
        slot = cohorts_service.withdraw_replacement_slot(
            session,
            trial=trial,
            replaced_subject=window.subject_id,
            premise_failed=f"{late_fact}: the subject is {assessment.status} ({assessment.reason})",
            now=now,
        )
        if slot is not None and slot.status == "withdrawn":
            window.replaced = False
        return slot
    if assessment.status is Evaluability.NOT_EVALUABLE:
        _replace_if_due(
            session,
            trial=trial,
            protocol=protocol,
            window=window,
            cohort=cohort,
            assessment=assessment,
            now=now,
        )
    return None


def _publish_reassessment(
    session: Session,
    window: DltWindow,
    enrolment: Enrolment,
    cohort: Cohort,
    assessment: EvaluabilityAssessment,
    previous_evaluable: bool | None,
    late_fact: str,
) -> None:
    outbox.record_event(
        session,
        DltWindowReassessed(
            trial_id=enrolment.trial_id,
            **_window_facts(session, window, enrolment, cohort),
            status=_EVENT_STATUS[assessment.status],
            previous_evaluable=previous_evaluable,
            reason=assessment.reason,
            late_fact=late_fact,
        ),
        subject=f"subjects/{window.subject_id}",
    )


@dataclass(frozen=True)
class WithdrawalJudgement:
    """The subject's DLT evaluability once a withdrawal is stored, and whether it was replaced."""

    status: Evaluability
    reason: str
    replacement_slot_opened: bool


def judge_withdrawal(
    session: Session, *, subject_id: str, late_fact: str, facts_of: FactsOf, now: datetime
) -> WithdrawalJudgement:
    """Judge the DLT evaluability of a subject whose withdrawal is stored (PROTOCOL.md: a
    subject withdrawn before completing the window without a DLT is not evaluable, and is
    replaced while enrolment is under the cap). Does not recompute the escalation state.

    - no window (withdrawn before the first infusion): not evaluable, replaced if due;
    - an open window the withdrawal decides: closed now as the job would close it;
    - an open window still pending (a suspected DLT awaits adjudication): the job closes it
      once its last day has passed;
    - a closed window: re-assessed as for any late fact (a back-dated withdrawal).
    """
    window = repository.window_of(session, subject_id)
    enrolment, cohort = _cohort_of(session, subject_id)
    trial = trials_repository.get_trial(session, enrolment.trial_id)
    assert trial is not None
    protocol = protocol_of(session, trial)
    if window is None:
        return _judge_untreated(
            session, trial=trial, protocol=protocol, cohort=cohort, subject_id=subject_id, now=now
        )
    if window.status == "closed":
        result = reassess_window(
            session, subject_id=subject_id, late_fact=late_fact, facts_of=facts_of, now=now
        )
        status = Evaluability.EVALUABLE if window.evaluable else Evaluability.NOT_EVALUABLE
        if result is not None:
            status = result.status
        opened = (
            result is not None
            and result.changed
            and result.status is Evaluability.NOT_EVALUABLE
            and window.replaced
        )
        return WithdrawalJudgement(status, window.reason or "", opened)
    assessment = _assess(
        session, protocol, window, today=protocol.site.date_of(now), facts_of=facts_of
    )
    if assessment.status is Evaluability.PENDING:
        return WithdrawalJudgement(assessment.status, assessment.reason, False)
    _close_window(
        session,
        trial=trial,
        protocol=protocol,
        window=window,
        assessment=assessment,
        actor=REASSESSMENT_ACTOR,
        reason=late_fact,
        now=now,
    )
    return WithdrawalJudgement(assessment.status, assessment.reason, window.replaced)


def _judge_untreated(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    cohort: Cohort,
    subject_id: str,
    now: datetime,
) -> WithdrawalJudgement:
    """A subject withdrawn before the first infusion never started a DLT window: not
    evaluable, and replaced as the protocol replaces every non-evaluable subject."""
    withdrawal = subjects_repository.withdrawal_of(session, subject_id)
    assert withdrawal is not None
    reason = (
        f"withdrawn on {withdrawal.effective_on.isoformat()} before the first infusion,"
        f" received 0 of the {protocol.evaluability.required_infusions} required infusions"
    )
    opened = protocol.evaluability.replace_non_evaluable and cohorts_service.add_replacement_slot(
        session,
        trial=trial,
        cohort_id=cohort.id,
        replaced_subject=subject_id,
        reason=f"replace: not evaluable ({reason})",
        cap=protocol.enrolment.cap,
        now=now,
    )
    return WithdrawalJudgement(Evaluability.NOT_EVALUABLE, reason, opened)
