"""Screening use cases: answer every criterion, decide eligibility with reasons, keep failures.

What a screen failure gives up in the cohorts (reserved slots, the waitlist place) is run by
`enrollment.workflows.screening`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import SubjectScreened
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.etags import check_if_match
from enrollment.problems import (
    ALREADY_ENROLLED,
    ALREADY_SIGNED_OFF,
    SCREENING_INCOMPLETE,
    SCREENING_SUPERSEDED,
)
from enrollment.screening import repository
from enrollment.screening.eligibility import (
    Answer,
    Eligibility,
    UnknownCriterionError,
    assess_eligibility,
)
from enrollment.screening.models import Screening
from enrollment.screening.schemas import AnswerIn, SubjectFactsIn
from enrollment.subjects import repository as subjects_repository
from enrollment.subjects.models import Subject
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from enrollment.trials.service import site_today

_ENROLLED = frozenset({"enrolled", "withdrawn"})
_SUBJECT_STATUS = {
    Eligibility.ELIGIBLE: "eligible",
    Eligibility.INELIGIBLE: "screen_failed",
    Eligibility.INCOMPLETE: "screening",
}


def _answer(value: AnswerIn) -> Answer:
    number: bool | int | Decimal = value.value
    return Answer(
        value=number, evidence_date=value.evidence_date, evidence_grade=value.evidence_grade
    )


@dataclass(frozen=True)
class Assessed:
    """A screening judged and not stored yet, with the subject (locked) and its trial."""

    subject: Subject
    trial: Trial
    screening: Screening
    status: Eligibility


def assess(
    session: Session,
    *,
    subject_id: str,
    screened_on_day: date,
    answers: dict[str, AnswerIn],
    facts: SubjectFactsIn,
    principal: Principal,
    now: datetime,
) -> Assessed:
    """The subject's eligibility from `answers` under the protocol in force (nothing stored)."""
    subject = subjects_repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    # Enrolled (and, after that, withdrawn) is the status of every subject with an enrolment.
    if subject.status in _ENROLLED:
        raise Conflict(
            f"subject {subject_id} is already enrolled; screening is closed",
            problem=ALREADY_ENROLLED,
        )
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    if screened_on_day > site_today(trial, now):
        raise InvalidInput.at(["body", "screened_on"], "is after today at the site")
    if facts.birth_date is not None and facts.birth_date >= screened_on_day:
        raise InvalidInput.at(
            ["body", "subject_facts", "birth_date"],
            f"{facts.birth_date} is not before the screening day {screened_on_day}",
        )
    protocol = protocol_of(session, trial)
    try:
        result = assess_eligibility(
            protocol.eligibility,
            {key: _answer(value) for key, value in answers.items()},
            screened_on=screened_on_day,
        )
    except UnknownCriterionError as error:
        raise InvalidInput.at(["body", "answers"], str(error)) from None
    screening = Screening(
        subject_id=subject_id,
        screened_on=screened_on_day,
        answers={key: value.model_dump(mode="json") for key, value in answers.items()},
        eligible=result.eligible,
        status=result.status.value,
        reasons=[finding.reason for finding in result.findings],
        sex=facts.sex,
        birth_date=facts.birth_date,
        height_cm=facts.height_cm,
        protocol_version=protocol.protocol.version,
        protocol_hash=protocol.content_hash,
        recorded_by=principal.audit_name,
        recorded_at=now,
    )
    return Assessed(subject=subject, trial=trial, screening=screening, status=result.status)


def store(
    session: Session, assessed: Assessed, *, facts: SubjectFactsIn, principal: Principal
) -> Screening:
    """Store the screening and the subject's new status, audit and publish them."""
    subject, trial, screening = assessed.subject, assessed.trial, assessed.screening
    session.add(screening)
    before = {"status": subject.status}
    subject.status = _SUBJECT_STATUS[assessed.status]
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="subject.screen",
        entity_type="subject",
        entity_id=subject.id,
        before=before,
        after={
            "screening_id": str(screening.id),
            "status": assessed.status.value,
            "reasons": screening.reasons,
            "answers": screening.answers,
            "subject_facts": facts.model_dump(mode="json"),
        },
    )
    if assessed.status is not Eligibility.INCOMPLETE:
        outbox.record_event(
            session,
            SubjectScreened(
                trial_id=trial.id,
                subject_id=subject.id,
                site_id=subject.site_id,
                eligible=screening.eligible,
                screened_on=screening.screened_on,
            ),
            subject=f"subjects/{subject.id}",
        )
    return screening


def sign_off(
    session: Session,
    *,
    subject_id: str,
    screening_id: uuid.UUID,
    if_match: str | None,
    principal: Principal,
    now: datetime,
) -> Screening:
    """An investigator signs off the eligibility verdict of the subject's latest screening."""
    screening = repository.get_screening(session, screening_id)
    if screening is None or screening.subject_id != subject_id:
        raise NotFound(f"subject {subject_id} has no screening {screening_id}")
    check_if_match(if_match, current_version=screening.version)
    latest = repository.latest_screening(session, subject_id)
    if latest is None or latest.id != screening.id:
        raise Conflict(
            "a later screening of this subject exists; sign off that one",
            problem=SCREENING_SUPERSEDED,
        )
    if screening.status == Eligibility.INCOMPLETE.value:
        raise Conflict(
            "the screening is incomplete: answer every criterion first: "
            + "; ".join(screening.reasons),
            problem=SCREENING_INCOMPLETE,
        )
    if screening.signed_off_at is not None:
        raise Conflict("this screening is already signed off", problem=ALREADY_SIGNED_OFF)
    screening.signed_off_by = principal.audit_name
    screening.signed_off_by_subject = principal.subject
    screening.signed_off_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="screening.sign_off",
        entity_type="subject",
        entity_id=subject_id,
        before={"signed_off_by": None},
        after={
            "screening_id": str(screening.id),
            "status": screening.status,
            "signed_off_at": now,
        },
    )
    return screening


def screen_failures(session: Session, *, trial_id: str) -> list[Screening]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return repository.screen_failures(session, trial_id)
