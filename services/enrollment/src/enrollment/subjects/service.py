"""Subject use cases: issue study ids, detect duplicates by keyed hash, record consent, withdraw.

What a consent correction or a withdrawal changes in other domains (the DLT window, pending
preparations, the escalation state) is run by `enrollment.workflows.subjects`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal, Role
from doseline.contracts.enrollment import SubjectWithdrawn, WithdrawalReason
from doseline.errors import Conflict, Forbidden, InvalidInput, NotFound
from doseline.etags import check_if_match
from doseline.identity import declared_system, hospital_id_hash
from enrollment.problems import (
    ALREADY_WITHDRAWN,
    DUPLICATE_SUBJECT,
    TRIAL_COMPLETED,
    WITHDRAWAL_NEEDS_INVESTIGATOR,
)
from enrollment.protocol import Protocol, Site
from enrollment.subjects import repository
from enrollment.subjects.models import Subject, SubjectWithdrawal
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from enrollment.trials.service import site_today


def study_subject_id(trial_id: str, number: int) -> str:
    """The system-issued study id: trial code and a three-digit number (HDMSC-RP-01-001)."""
    return f"{trial_id}-{number:03d}"


def register_subject(
    session: Session,
    *,
    trial_id: str,
    site_id: str | None,
    hospital_system: str,
    hospital_identifier: str,
    identifier_key: str,
    principal: Principal,
    now: datetime,
) -> Subject:
    """A new subject with the next study id; the MRN is kept only as a keyed hash, taken under
    the identifier system of the subject's site that the named system stands for."""
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(f"trial {trial_id} is {trial.status}", problem=TRIAL_COMPLETED)
    site = _registration_site(protocol_of(session, trial), site_id)
    principal.require_site(site.id)
    digest = _registration_hash(
        site, system=hospital_system, value=hospital_identifier, identifier_key=identifier_key
    )
    duplicate = repository.find_by_hospital_hash(session, trial_id, digest)
    if duplicate is not None:
        raise Conflict(
            f"this hospital identifier already belongs to subject {duplicate.id} of this"
            " trial; continue with that subject",
            problem=DUPLICATE_SUBJECT,
            extra={"subject_id": duplicate.id},
        )
    trial.last_subject_number += 1
    subject = Subject(
        id=study_subject_id(trial_id, trial.last_subject_number),
        trial_id=trial_id,
        number=trial.last_subject_number,
        site_id=site.id,
        hospital_id_hash=digest,
        status="registered",
        registered_at=now,
    )
    session.add(subject)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="subject.register",
        entity_type="subject",
        entity_id=subject.id,
        # The hash never leaves the service in an audit view either: only whether one exists.
        after={
            "number": subject.number,
            "site_id": subject.site_id,
            "hospital_identifier_recorded": True,
        },
    )
    return subject


def _registration_hash(site: Site, *, system: str, value: str, identifier_key: str) -> str:
    """The keyed hash a subject of `site` is registered under; a 422 listing the site's
    systems when the site declares its identifier systems and `system` names none of them."""
    declared = site.identifier_systems
    if declared and declared_system(system, declared) is None:
        names = [name for entry in declared for name in (entry.system, *entry.aliases)]
        raise InvalidInput.at(
            ["body", "hospital_identifier", "system"],
            f"{system!r} is not an identifier system of site {site.id}; use one of {names}",
        )
    return hospital_id_hash(identifier_key, system=system, value=value, site_systems=declared)


def _registration_site(protocol: Protocol, site_id: str | None) -> Site:
    """The site named, or the protocol's default (first) site; a 422 listing them otherwise."""
    if site_id is None:
        return protocol.site
    site = protocol.site_by_id(site_id)
    if site is None:
        known = [s.id for s in protocol.sites]
        raise InvalidInput.at(
            ["body", "site_id"],
            f"{site_id!r} is not a site of this trial; use one of {known}",
        )
    return site


def get_subject(session: Session, subject_id: str) -> Subject:
    subject = repository.get_subject(session, subject_id)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    return subject


def locked_with_protocol(session: Session, subject_id: str) -> tuple[Subject, Trial, Protocol]:
    """The subject (locked), its trial and the protocol in force; 404 for an unknown subject."""
    subject = repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    return subject, trial, protocol_of(session, trial)


def consent_to_record(
    session: Session,
    *,
    subject_id: str,
    consent_signed_on: date,
    reason: str | None,
    if_match: str | None,
    now: datetime,
) -> Subject:
    """The subject, locked, if `consent_signed_on` may be recorded (or corrected, with a
    reason); the enrolment day is checked by the cohorts (`refuse_consent_after_enrolment`)."""
    subject = repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    check_if_match(if_match, current_version=subject.version)
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    if consent_signed_on > site_today(trial, now):
        raise InvalidInput.at(
            ["body", "consent_signed_on"], "is after today at the site; enter the signing date"
        )
    if subject.consent_signed_on is not None and not reason:
        raise InvalidInput.at(
            ["body", "reason"],
            "a consent date is already recorded; give the reason for the correction",
        )
    return subject


def store_consent(
    session: Session,
    subject: Subject,
    *,
    consent_signed_on: date,
    reason: str | None,
    principal: Principal,
) -> date | None:
    """Record the consent date and audit it; returns the date it corrects, if any."""
    before = {"consent_signed_on": subject.consent_signed_on}
    subject.consent_signed_on = consent_signed_on
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="subject.record_consent",
        entity_type="subject",
        entity_id=subject.id,
        before=before,
        after={"consent_signed_on": consent_signed_on},
        reason=reason,
    )
    return before["consent_signed_on"]


def subjects_of(
    session: Session, *, trial_id: str, principal: Principal, after: int, limit: int
) -> list[Subject]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return repository.subjects_of(session, trial_id, principal=principal, after=after, limit=limit)


def subject_to_withdraw(
    session: Session, *, subject_id: str, reason: WithdrawalReason, principal: Principal
) -> Subject:
    """The subject, locked, if the caller may withdraw it for `reason` and it is not withdrawn
    already; whether it is enrolled is the cohorts' to say (`enrolment_to_withdraw`)."""
    if reason != "lost_to_follow_up" and not principal.has_any([Role.INVESTIGATOR]):
        raise Forbidden(
            "only an investigator withdraws a subject; a coordinator may record only"
            " lost_to_follow_up",
            problem=WITHDRAWAL_NEEDS_INVESTIGATOR,
        )
    subject = repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    # Final whatever version the caller saw: a second withdrawal is a 409, never a 412.
    existing = repository.withdrawal_of(session, subject_id)
    if existing is not None:
        raise Conflict(
            f"subject {subject_id} was already withdrawn ({existing.reason}) on"
            f" {existing.effective_on.isoformat()}",
            problem=ALREADY_WITHDRAWN,
            extra={"withdrawal_reason": existing.reason},
        )
    return subject


def check_withdrawal(
    session: Session,
    subject: Subject,
    *,
    enrolled_at: datetime,
    reason: WithdrawalReason,
    effective_on: date,
    safety_follow_up: bool,
    if_match: str | None,
    now: datetime,
) -> Trial:
    """The subject's trial, if a withdrawal from `effective_on` is one it can record."""
    check_if_match(if_match, current_version=subject.version)
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    enrolled_on = site_today(trial, enrolled_at)
    if effective_on > site_today(trial, now):
        raise InvalidInput.at(
            ["body", "effective_on"], "is after today at the site; record it on or after that day"
        )
    if effective_on < enrolled_on:
        raise InvalidInput.at(
            ["body", "effective_on"],
            f"is before the subject's enrolment on {enrolled_on.isoformat()}",
        )
    if reason == "death" and safety_follow_up:
        raise InvalidInput.at(
            ["body", "safety_follow_up"], "must be false when the reason is death"
        )
    return trial


def store_withdrawal(
    session: Session,
    subject: Subject,
    *,
    reason: WithdrawalReason,
    effective_on: date,
    details: str,
    safety_follow_up: bool,
    cancelled_preparations: tuple[int, ...],
    principal: Principal,
    now: datetime,
) -> SubjectWithdrawal:
    """The withdrawal row, the subject withdrawn, and the audit entry naming what it did."""
    withdrawal = SubjectWithdrawal(
        subject_id=subject.id,
        trial_id=subject.trial_id,
        reason=reason,
        effective_on=effective_on,
        details=details,
        safety_follow_up=safety_follow_up,
        recorded_by=principal.audit_name,
        recorded_at=now,
    )
    session.add(withdrawal)
    before = {"status": subject.status}
    subject.status = "withdrawn"
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="subject.withdraw",
        entity_type="subject",
        entity_id=subject.id,
        before=before,
        after={
            "status": subject.status,
            "reason": reason,
            "effective_on": effective_on,
            "safety_follow_up": safety_follow_up,
            "cancelled_preparations": list(cancelled_preparations),
        },
        reason=details,
    )
    return withdrawal


def publish_withdrawal(
    session: Session,
    subject: Subject,
    withdrawal: SubjectWithdrawal,
    *,
    reason: WithdrawalReason,
    cohort_number: int,
    dose_level: int,
    infusions_received: int,
    dlt_evaluability: Literal["evaluable", "not-evaluable", "pending"],
    replacement_slot_opened: bool,
) -> None:
    outbox.record_event(
        session,
        SubjectWithdrawn(
            trial_id=subject.trial_id,
            subject_id=subject.id,
            site_id=subject.site_id,
            reason=reason,
            effective_on=withdrawal.effective_on,
            safety_follow_up=withdrawal.safety_follow_up,
            cohort_number=cohort_number,
            dose_level=dose_level,
            infusions_received=infusions_received,
            dlt_evaluability=dlt_evaluability,
            replacement_slot_opened=replacement_slot_opened,
        ),
        subject=f"subjects/{subject.id}",
    )
