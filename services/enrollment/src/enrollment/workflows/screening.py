"""Recording a screening: a screen failure gives up the slots reserved for the subject and its
place on the waitlist at once, rather than when the reservations lapse."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from doseline.auth import Principal
from enrollment.cohorts import service as cohorts_service
from enrollment.screening import service as screening_service
from enrollment.screening.eligibility import Eligibility
from enrollment.screening.models import Screening
from enrollment.screening.schemas import AnswerIn, SubjectFactsIn


def record_screening(
    session: Session,
    *,
    subject_id: str,
    screened_on_day: date,
    answers: dict[str, AnswerIn],
    facts: SubjectFactsIn,
    principal: Principal,
    now: datetime,
) -> Screening:
    assessed = screening_service.assess(
        session,
        subject_id=subject_id,
        screened_on_day=screened_on_day,
        answers=answers,
        facts=facts,
        principal=principal,
        now=now,
    )
    # Locked before the first audit entry, as every writer of the cohorts locks them.
    held = (
        cohorts_service.hold_for_screen_failure(session, subject_id=subject_id, now=now)
        if assessed.status is Eligibility.INELIGIBLE
        else None
    )
    screening = screening_service.store(session, assessed, facts=facts, principal=principal)
    if held is not None:
        cohorts_service.release_for_screen_failure(
            session,
            held,
            reason=f"screen failure on {screened_on_day.isoformat()}: "
            + "; ".join(screening.reasons),
            actor=principal.audit_name,
        )
    return screening
