"""Cohort use cases: open a cohort, enrol into its slots, the waitlist and slot reservations.

Every enrolment locks the trial's newest cohort (`SELECT … FOR UPDATE`): many requests for its
last slot are served one at a time, so exactly one gets it. The `UNIQUE (cohort_id,
slot_number)` and `UNIQUE (subject_id)` constraints are the second line of defence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import (
    CohortOpened,
    ReplacementSlotFlagged,
    ReplacementSlotWithdrawn,
    SubjectEnrolled,
    WaitlistEntryRemoved,
)
from doseline.errors import Conflict, NotFound
from enrollment.cohorts import repository
from enrollment.cohorts.models import (
    Cohort,
    Enrolment,
    ReplacementSlot,
    SlotReservation,
    WaitlistEntry,
)
from enrollment.problems import (
    ALREADY_ENROLLED,
    ALREADY_RESERVED,
    ALREADY_WAITING,
    COHORT_FULL,
    CONSENT_AFTER_ENROLMENT,
    CONSENT_IN_FUTURE,
    CONSENT_REQUIRED,
    ELIGIBILITY_NOT_SIGNED_OFF,
    ENROLMENT_CAP_REACHED,
    NO_OPEN_COHORT,
    NOT_ELIGIBLE,
    NOT_ENROLLED,
    NOT_WAITING,
    SCREENING_REQUIRED,
    SITE_NOT_IN_PROTOCOL,
    SUBJECT_WITHDRAWN,
    TRIAL_COMPLETED,
    WAITLIST_ORDER,
)
from enrollment.protocol import Protocol
from enrollment.screening import repository as screening_repository
from enrollment.subjects import repository as subjects_repository
from enrollment.subjects.models import Subject
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from enrollment.trials.service import site_today

SYSTEM_ACTOR = "enrollment service <system>"


def cohort_by_number(session: Session, trial_id: str, number: int) -> Cohort:
    cohort = repository.cohort_by_number(session, trial_id, number)
    if cohort is None:
        raise NotFound(f"trial {trial_id} has no cohort {number}")
    return cohort


def open_cohort(
    session: Session,
    *,
    trial: Trial,
    number: int,
    dose_level: int,
    size: int,
    decision_id: uuid.UUID | None,
    actor: str,
    now: datetime,
) -> Cohort:
    cohort = Cohort(
        trial_id=trial.id,
        number=number,
        dose_level=dose_level,
        planned_size=size,
        slots=size,
        status="open",
        opened_at=now,
        opened_by_decision_id=decision_id,
    )
    session.add(cohort)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="cohort.open",
        entity_type="cohort",
        entity_id=f"{trial.id}/{number}",
        after={"number": number, "dose_level": dose_level, "slots": size},
    )
    outbox.record_event(
        session,
        CohortOpened(trial_id=trial.id, cohort_number=number, dose_level=dose_level, slots=size),
        subject=f"trials/{trial.id}/cohorts/{number}",
    )
    return cohort


@dataclass(frozen=True)
class CohortSummary:
    cohort: Cohort
    enrolled: int
    reserved: int
    free: int
    replacement_slots: tuple[ReplacementSlot, ...]


def free_slots(session: Session, cohort: Cohort, *, now: datetime) -> int:
    """Slots a new subject could take now: none unless the cohort is open."""
    return summarise(session, cohort, now=now).free


def summarise(session: Session, cohort: Cohort, *, now: datetime) -> CohortSummary:
    enrolled = repository.enrolled_count(session, cohort.id)
    reserved = len(repository.active_reservations(session, cohort.id, now=now))
    free = cohort.slots - enrolled - reserved if cohort.status == "open" else 0
    return CohortSummary(
        cohort=cohort,
        enrolled=enrolled,
        reserved=reserved,
        free=max(free, 0),
        replacement_slots=tuple(repository.replacement_slots_in(session, cohort.id)),
    )


def cohorts_of(session: Session, *, trial_id: str, now: datetime) -> list[CohortSummary]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return [summarise(session, c, now=now) for c in repository.cohorts_of(session, trial_id)]


def refuse_consent_after_enrolment(
    session: Session, subject: Subject, consent_signed_on: date
) -> None:
    """409 if the subject was enrolled before `consent_signed_on` (at the site)."""
    if subject.status != "enrolled":
        return
    trial = trials_repository.get_trial(session, subject.trial_id)
    enrolment = repository.enrolment_of(session, subject.id)
    assert trial is not None
    assert enrolment is not None
    if consent_signed_on > site_today(trial, enrolment.enrolled_at):
        raise Conflict(
            "the subject was enrolled before this consent date; a consent date cannot follow"
            " enrolment",
            problem=CONSENT_AFTER_ENROLMENT,
        )


def enrolment_to_dose(session: Session, subject_id: str) -> Enrolment:
    """The subject's enrolment, if the subject may still be dosed: enrolled, not withdrawn."""
    enrolment = repository.enrolment_of(session, subject_id)
    if enrolment is None:
        raise Conflict(
            f"subject {subject_id} is not enrolled; only enrolled subjects are dosed",
            problem=NOT_ENROLLED,
        )
    withdrawal = subjects_repository.withdrawal_of(session, subject_id)
    if withdrawal is not None:
        raise Conflict(
            f"subject {subject_id} was withdrawn ({withdrawal.reason.replace('_', ' ')}) on"
            f" {withdrawal.effective_on.isoformat()}; a withdrawn subject receives no further"
            " dose",
            problem=SUBJECT_WITHDRAWN,
            extra={
                "withdrawal_reason": withdrawal.reason,
                "effective_on": withdrawal.effective_on.isoformat(),
            },
        )
    return enrolment


def enrolment_to_withdraw(session: Session, subject: Subject) -> Enrolment:
    """The subject's enrolment: only an enrolled subject is withdrawn (409 otherwise)."""
    enrolment = repository.enrolment_of(session, subject.id)
    if enrolment is None:
        raise Conflict(
            f"subject {subject.id} is not enrolled ({subject.status}); only an enrolled subject"
            " is withdrawn. A subject waiting for a slot is removed from the waitlist instead",
            problem=NOT_ENROLLED,
        )
    return enrolment


def _enrollable_subject(session: Session, trial: Trial, subject_id: str) -> Subject:
    """The subject, if it may take a slot: consented, screened eligible, not yet enrolled."""
    subject = subjects_repository.get_subject(session, subject_id, for_update=True)
    if subject is None or subject.trial_id != trial.id:
        raise NotFound(f"trial {trial.id} has no subject {subject_id}")
    if repository.enrolment_of(session, subject_id) is not None:
        raise Conflict(f"subject {subject_id} is already enrolled", problem=ALREADY_ENROLLED)
    if subject.consent_signed_on is None:
        raise Conflict(
            f"subject {subject_id} has no consent date; record the signed consent (PATCH the"
            " subject with consent_signed_on) before enrolment",
            problem=CONSENT_REQUIRED,
        )
    screening = screening_repository.latest_screening(session, subject_id)
    if screening is None:
        raise Conflict(
            f"subject {subject_id} has not been screened; record the screening first",
            problem=SCREENING_REQUIRED,
        )
    if not screening.eligible:
        raise Conflict(
            f"subject {subject_id} is not eligible: " + "; ".join(screening.reasons),
            problem=NOT_ELIGIBLE,
            extra={"reasons": screening.reasons},
        )
    if screening.signed_off_at is None:
        raise Conflict(
            f"the eligibility of subject {subject_id} is not signed off; an investigator signs"
            " off the screening before enrolment",
            problem=ELIGIBILITY_NOT_SIGNED_OFF,
        )
    return subject


def _cohort_full(trial: Trial, cohort: Cohort, enrolled: int, reserved: int) -> Conflict:
    if cohort.status == "open":
        detail = (
            f"cohort {cohort.number} at dose level {cohort.dose_level} has no free slot"
            f" ({enrolled} enrolled and {reserved} reserved of {cohort.slots}); the subject can"
            " join the waitlist and takes a slot if a reservation lapses"
        )
    else:
        detail = (
            f"cohort {cohort.number} at dose level {cohort.dose_level} is full"
            f" ({enrolled}/{cohort.slots}); the subject can join the waitlist; the next cohort"
            f" opens after the escalation decision for cohort {cohort.number} is signed"
        )
    return Conflict(
        detail,
        problem=COHORT_FULL,
        extra={
            "trial_id": trial.id,
            "cohort_number": cohort.number,
            "dose_level": cohort.dose_level,
            "slots": cohort.slots,
            "enrolled": enrolled,
            "reserved": reserved,
        },
    )


def enrollable(
    session: Session, *, trial_id: str, subject_id: str, now: datetime
) -> tuple[Trial, Subject]:
    """The open trial and the subject (locked), if the subject may take a slot now."""
    trial = trials_repository.get_trial(session, trial_id)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(f"trial {trial_id} is {trial.status}", problem=TRIAL_COMPLETED)
    subject = _enrollable_subject(session, trial, subject_id)
    if subject.consent_signed_on is not None and subject.consent_signed_on > site_today(trial, now):
        raise Conflict(
            f"the consent date {subject.consent_signed_on} is after today at the site",
            problem=CONSENT_IN_FUTURE,
        )
    return trial, subject


@dataclass(frozen=True)
class _FreeSlot:
    """The slot an enrolment takes in the newest cohort, and what it uses up."""

    cohort: Cohort
    enrolled: int
    reservation: SlotReservation | None
    waitlist_entry: WaitlistEntry | None


def enrol(
    session: Session, *, trial: Trial, subject: Subject, principal: Principal, now: datetime
) -> Enrolment:
    """Enrol the subject (from `enrollable`) into a free slot of the trial's newest cohort.

    The caller holds the trial's escalation lock: every writer of both locks the escalation
    state before the cohort, and the enrolment is a fact the state is derived from."""
    cohort = _locked_newest_cohort(session, trial)
    protocol = protocol_of(session, trial)
    _refuse_over_cap(session, trial, protocol)
    slot = _free_slot(session, trial, cohort, subject.id, now=now)
    enrolment = _store_enrolment(session, trial, subject, slot, protocol, principal, now)
    _publish_enrolment(session, subject, cohort, protocol, now)
    return enrolment


def _locked_newest_cohort(session: Session, trial: Trial) -> Cohort:
    cohort = repository.lock_latest_cohort(session, trial.id)
    if cohort is None:
        raise Conflict(f"trial {trial.id} has no cohort", problem=NO_OPEN_COHORT)
    return cohort


def _refuse_over_cap(session: Session, trial: Trial, protocol: Protocol) -> None:
    # Only one cohort takes patients at a time, so the cohort lock also guards the cap.
    in_trial = repository.trial_enrolled_count(session, trial.id)
    if in_trial >= protocol.enrolment.cap:
        raise Conflict(
            f"the trial has enrolled {in_trial} subjects, its cap of {protocol.enrolment.cap}",
            problem=ENROLMENT_CAP_REACHED,
        )


def _free_slot(
    session: Session, trial: Trial, cohort: Cohort, subject_id: str, *, now: datetime
) -> _FreeSlot:
    """A slot of the cohort free for the subject: its own reservation, or a slot nobody else
    reserved that the waitlist lets it take (its head first)."""
    enrolled = repository.enrolled_count(session, cohort.id)
    reservations = repository.active_reservations(session, cohort.id, now=now)
    own = next((r for r in reservations if r.subject_id == subject_id), None)
    held_by_others = len(reservations) - (1 if own is not None else 0)
    free = cohort.slots - enrolled - held_by_others
    if cohort.status != "open" or free <= 0:
        raise _cohort_full(trial, cohort, enrolled, held_by_others)
    entry = repository.waitlist_entry_of(session, subject_id)
    if own is None:
        queue = repository.waiting(session, trial.id)
        allowed = {e.subject_id for e in queue[:free]}
        if queue and subject_id not in allowed:
            raise Conflict(
                f"{len(queue)} subject(s) are waiting for a slot; the free slot(s) of cohort"
                f" {cohort.number} go to the head of the waitlist first"
                f" ({', '.join(e.subject_id for e in queue[:free])})",
                problem=WAITLIST_ORDER,
            )
    return _FreeSlot(cohort=cohort, enrolled=enrolled, reservation=own, waitlist_entry=entry)


def _store_enrolment(
    session: Session,
    trial: Trial,
    subject: Subject,
    slot: _FreeSlot,
    protocol: Protocol,
    principal: Principal,
    now: datetime,
) -> Enrolment:
    """The enrolment row; the reservation, waitlist entry, subject and cohort moved on; audit."""
    cohort, own, entry = slot.cohort, slot.reservation, slot.waitlist_entry
    enrolment = Enrolment(
        trial_id=trial.id,
        subject_id=subject.id,
        cohort_id=cohort.id,
        slot_number=slot.enrolled + 1,
        sequence=repository.last_sequence(session, trial.id) + 1,
        dose_level=cohort.dose_level,
        protocol_version=protocol.protocol.version,
        enrolled_by=principal.audit_name,
        enrolled_at=now,
    )
    session.add(enrolment)
    if own is not None:
        own.status = "used"
    if entry is not None and entry.status == "waiting":
        entry.status = "enrolled"
    subject.status = "enrolled"
    if slot.enrolled + 1 >= cohort.slots:
        cohort.status = "treating"
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="subject.enrol",
        entity_type="subject",
        entity_id=subject.id,
        after={
            "cohort_number": cohort.number,
            "dose_level": cohort.dose_level,
            "slot_number": enrolment.slot_number,
            "sequence": enrolment.sequence,
            "reservation_id": str(own.id) if own is not None else None,
        },
    )
    return enrolment


def _publish_enrolment(
    session: Session, subject: Subject, cohort: Cohort, protocol: Protocol, now: datetime
) -> None:
    outbox.record_event(
        session,
        SubjectEnrolled(
            trial_id=subject.trial_id,
            subject_id=subject.id,
            site_id=subject.site_id,
            cohort_number=cohort.number,
            dose_level=cohort.dose_level,
            enrolled_at=now,
            protocol_version=protocol.protocol.version,
            site_time_zone=_site_zone(protocol, subject.site_id),
            hospital_id_hashes=[subject.hospital_id_hash] if subject.hospital_id_hash else [],
            **_subject_facts(session, subject.id),
        ),
        subject=f"subjects/{subject.id}",
    )


def _subject_facts(session: Session, subject_id: str) -> dict[str, Any]:
    """Sex, birth date and height from the screening the enrolment rests on (its latest)."""
    screening = screening_repository.latest_screening(session, subject_id)
    if screening is None:
        return {}
    return {
        "sex": screening.sex,
        "birth_date": screening.birth_date,
        "height_cm": None if screening.height_cm is None else float(screening.height_cm),
    }


def _site_zone(protocol: Protocol, site_id: str) -> str:
    """The subject's site's zone; a site the protocol in force no longer lists is a conflict."""
    site = protocol.site_by_id(site_id)
    if site is None:
        raise Conflict(
            f"site {site_id!r} is not in protocol version {protocol.version}",
            problem=SITE_NOT_IN_PROTOCOL,
        )
    return site.time_zone


def add_replacement_slot(
    session: Session,
    *,
    trial: Trial,
    cohort_id: uuid.UUID,
    replaced_subject: str,
    reason: str,
    cap: int,
    now: datetime,
) -> bool:
    """One more slot in the cohort for a non-evaluable subject, if the enrolment cap allows."""
    cohort = repository.get_cohort(session, cohort_id, for_update=True)
    assert cohort is not None
    enrolled_in_trial = repository.trial_enrolled_count(session, trial.id)
    if enrolled_in_trial >= cap:
        return False
    before = {"slots": cohort.slots, "status": cohort.status}
    cohort.slots += 1
    if cohort.status == "treating":
        cohort.status = "open"
    slot = ReplacementSlot(
        trial_id=trial.id,
        cohort_id=cohort.id,
        replaced_subject_id=replaced_subject,
        status="open",
        reason=reason,
        opened_at=now,
    )
    session.add(slot)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="cohort.add_replacement_slot",
        entity_type="cohort",
        entity_id=f"{trial.id}/{cohort.number}",
        before=before,
        after={
            "slots": cohort.slots,
            "status": cohort.status,
            "replacement_slot_id": str(slot.id),
        },
        reason=f"subject {replaced_subject} is not DLT-evaluable and is replaced",
    )
    return True


def withdraw_replacement_slot(
    session: Session, *, trial: Trial, replaced_subject: str, premise_failed: str, now: datetime
) -> ReplacementSlot | None:
    """The replacement slot `replaced_subject` opened, now that a late fact showed the subject
    is not non-evaluable after all: withdrawn if it is still free, else flagged for the
    investigator (someone took it; nobody is un-enrolled by software). None if there was none.

    A slot held by an active reservation counts as taken: the reserved subject was promised it.
    """
    slot = repository.replacement_slot_for(session, replaced_subject, status="open")
    if slot is None:
        return None
    cohort = repository.get_cohort(session, slot.cohort_id, for_update=True)
    assert cohort is not None
    enrolments = repository.enrolments_in(session, cohort.id)
    reservations = repository.active_reservations(session, cohort.id, now=now)
    free = cohort.slots - len(enrolments) - len(reservations)
    slot.premise_failed = premise_failed
    slot.changed_at = now
    if free >= 1:
        _withdraw_free_slot(
            session, trial, cohort, slot, enrolments, replaced_subject, premise_failed
        )
    else:
        occupant = reservations[-1].subject_id if reservations else enrolments[-1].subject_id
        _flag_taken_slot(session, trial, cohort, slot, occupant, replaced_subject, premise_failed)
    return slot


class _SlotFacts(TypedDict):
    trial_id: str
    site_id: str
    replacement_slot_id: str
    cohort_number: int
    dose_level: int
    replaced_subject_id: str


def _slot_facts(
    session: Session, trial: Trial, cohort: Cohort, slot: ReplacementSlot, replaced_subject: str
) -> _SlotFacts:
    """What every replacement slot event says of the slot. The site is the replaced subject's
    (a subject who took the slot may be another site's)."""
    return _SlotFacts(
        trial_id=trial.id,
        site_id=subjects_repository.site_of_registered_subject(session, replaced_subject),
        replacement_slot_id=str(slot.id),
        cohort_number=cohort.number,
        dose_level=cohort.dose_level,
        replaced_subject_id=replaced_subject,
    )


def _withdraw_free_slot(
    session: Session,
    trial: Trial,
    cohort: Cohort,
    slot: ReplacementSlot,
    enrolments: list[Enrolment],
    replaced_subject: str,
    premise_failed: str,
) -> None:
    """The cohort gives the free slot back: one slot fewer, audited and published."""
    cohort_before = {"slots": cohort.slots, "status": cohort.status}
    cohort.slots -= 1
    if cohort.status == "open" and len(enrolments) >= cohort.slots:
        cohort.status = "treating"
    slot.status = "withdrawn"
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="cohort.withdraw_replacement_slot",
        entity_type="cohort",
        entity_id=f"{trial.id}/{cohort.number}",
        before={**cohort_before, "replacement_slot_status": "open"},
        after={
            "slots": cohort.slots,
            "status": cohort.status,
            "replacement_slot_id": str(slot.id),
            "replacement_slot_status": "withdrawn",
        },
        reason=f"subject {replaced_subject} no longer needs a replacement: {premise_failed}",
    )
    outbox.record_event(
        session,
        ReplacementSlotWithdrawn(
            **_slot_facts(session, trial, cohort, slot, replaced_subject),
            slots=cohort.slots,
            reason=premise_failed,
        ),
        subject=f"trials/{trial.id}/cohorts/{cohort.number}",
    )


def _flag_taken_slot(
    session: Session,
    trial: Trial,
    cohort: Cohort,
    slot: ReplacementSlot,
    occupant: str,
    replaced_subject: str,
    premise_failed: str,
) -> None:
    """Someone holds the slot already: flagged for the investigator, audited and published."""
    cohort_before = {"slots": cohort.slots, "status": cohort.status}
    slot.status = "flagged"
    slot.occupant_subject_id = occupant
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="cohort.flag_replacement_slot",
        entity_type="cohort",
        entity_id=f"{trial.id}/{cohort.number}",
        before={**cohort_before, "replacement_slot_status": "open"},
        after={
            **cohort_before,
            "replacement_slot_id": str(slot.id),
            "replacement_slot_status": "flagged",
            "occupant_subject_id": occupant,
        },
        reason=(
            f"subject {replaced_subject} no longer needs a replacement ({premise_failed}), but"
            f" subject {occupant} already holds the slot: the investigator reviews the cohort"
        ),
    )
    outbox.record_event(
        session,
        ReplacementSlotFlagged(
            **_slot_facts(session, trial, cohort, slot, replaced_subject),
            occupant_subject_id=occupant,
            reason=premise_failed,
        ),
        subject=f"trials/{trial.id}/cohorts/{cohort.number}",
    )


def restore_flagged_replacement_slot(
    session: Session, *, trial: Trial, replaced_subject: str, reason: str, now: datetime
) -> ReplacementSlot | None:
    """A flagged slot whose premise holds again (the subject is not evaluable after all): its
    occupant replaces the subject as first intended, and the flag is lifted."""
    slot = repository.replacement_slot_for(session, replaced_subject, status="flagged")
    if slot is None:
        return None
    cohort = repository.get_cohort(session, slot.cohort_id)
    assert cohort is not None
    before = {
        "replacement_slot_status": slot.status,
        "premise_failed": slot.premise_failed,
        "occupant_subject_id": slot.occupant_subject_id,
    }
    slot.status = "open"
    slot.premise_failed = None
    slot.occupant_subject_id = None
    slot.changed_at = now
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="cohort.restore_replacement_slot",
        entity_type="cohort",
        entity_id=f"{trial.id}/{cohort.number}",
        before=before,
        after={"replacement_slot_id": str(slot.id), "replacement_slot_status": "open"},
        reason=f"subject {replaced_subject} is not DLT-evaluable again: {reason}",
    )
    return slot


def replacement_slots(
    session: Session, *, trial_id: str, status: str | None = None
) -> list[ReplacementSlot]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return repository.replacement_slots_of_trial(session, trial_id, status=status)


def join_waitlist(
    session: Session, *, trial_id: str, subject_id: str, principal: Principal
) -> WaitlistEntry:
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    _enrollable_subject(session, trial, subject_id)
    entry = repository.waitlist_entry_of(session, subject_id, for_update=True)
    position = repository.last_waitlist_position(session, trial_id) + 1
    if entry is not None and entry.status != "removed":
        raise Conflict(f"subject {subject_id} is already on the waitlist", problem=ALREADY_WAITING)
    if entry is None:
        entry = WaitlistEntry(trial_id=trial_id, subject_id=subject_id, position=position)
        session.add(entry)
    # A subject taken off the waitlist who joins again queues at the end.
    entry.position = position
    entry.status = "waiting"
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="waitlist.join",
        entity_type="subject",
        entity_id=subject_id,
        after={"position": entry.position},
    )
    return entry


def remove_from_waitlist(
    session: Session, *, trial_id: str, subject_id: str, reason: str, principal: Principal
) -> WaitlistEntry:
    """Take a waiting subject off the waitlist; the subjects behind move up."""
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    entry = repository.waitlist_entry_of(session, subject_id, for_update=True)
    if entry is None or entry.trial_id != trial_id:
        raise NotFound(f"subject {subject_id} is not on the waitlist of trial {trial_id}")
    if entry.status != "waiting":
        raise Conflict(
            f"subject {subject_id} is no longer waiting ({entry.status}); nothing to remove",
            problem=NOT_WAITING,
            extra={"waitlist_status": entry.status},
        )
    _take_off_waitlist(session, entry, reason=reason, actor=principal.audit_name)
    return entry


def _take_off_waitlist(session: Session, entry: WaitlistEntry, *, reason: str, actor: str) -> None:
    entry.status = "removed"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="waitlist.remove",
        entity_type="subject",
        entity_id=entry.subject_id,
        before={"status": "waiting", "position": entry.position},
        after={"status": entry.status},
        reason=reason,
    )
    outbox.record_event(
        session,
        WaitlistEntryRemoved(
            trial_id=entry.trial_id,
            subject_id=entry.subject_id,
            site_id=subjects_repository.site_of_registered_subject(session, entry.subject_id),
            position=entry.position,
            reason=reason,
        ),
        subject=f"subjects/{entry.subject_id}",
    )


@dataclass(frozen=True)
class ScreenFailureRelease:
    """What a screen failure gave up: reservations released, the waitlist place."""

    reservations: tuple[SlotReservation, ...]
    waitlist_entry: WaitlistEntry | None


def hold_for_screen_failure(
    session: Session, *, subject_id: str, now: datetime
) -> ScreenFailureRelease:
    """Lock what `release_for_screen_failure` changes; call it before the first audit entry."""
    entry = repository.waitlist_entry_of(session, subject_id, for_update=True)
    return ScreenFailureRelease(
        reservations=tuple(repository.active_reservations_of_subject(session, subject_id, now=now)),
        waitlist_entry=entry if entry is not None and entry.status == "waiting" else None,
    )


def release_for_screen_failure(
    session: Session, held: ScreenFailureRelease, *, reason: str, actor: str
) -> None:
    """A subject found not eligible gives up the slots reserved for them at once (rather than
    when the reservations lapse) and their place on the waitlist."""
    for reservation in held.reservations:
        reservation.status = "released"
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="slot.reservation_release",
            entity_type="slot_reservation",
            entity_id=str(reservation.id),
            before={"status": "active"},
            after={"status": "released", "subject_id": reservation.subject_id},
            reason=reason,
        )
    if held.waitlist_entry is not None:
        _take_off_waitlist(session, held.waitlist_entry, reason=reason, actor=actor)


def reserve_slot(
    session: Session, *, trial_id: str, subject_id: str, principal: Principal, now: datetime
) -> SlotReservation:
    trial = trials_repository.get_trial(session, trial_id)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(f"trial {trial_id} is {trial.status}", problem=TRIAL_COMPLETED)
    _enrollable_subject(session, trial, subject_id)
    cohort = repository.lock_latest_cohort(session, trial_id)
    if cohort is None:
        raise Conflict(f"trial {trial_id} has no cohort", problem=NO_OPEN_COHORT)
    enrolled = repository.enrolled_count(session, cohort.id)
    reservations = repository.active_reservations(session, cohort.id, now=now)
    if any(r.subject_id == subject_id for r in reservations):
        raise Conflict(f"subject {subject_id} already holds a slot", problem=ALREADY_RESERVED)
    if cohort.status != "open" or cohort.slots - enrolled - len(reservations) <= 0:
        raise _cohort_full(trial, cohort, enrolled, len(reservations))
    expiry = protocol_of(session, trial).enrolment.slot_reservation_expiry
    reservation = SlotReservation(
        cohort_id=cohort.id,
        subject_id=subject_id,
        status="active",
        reserved_by=principal.audit_name,
        reserved_at=now,
        expires_at=now + expiry,
    )
    session.add(reservation)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="slot.reserve",
        entity_type="slot_reservation",
        entity_id=str(reservation.id),
        after={
            "subject_id": subject_id,
            "cohort_number": cohort.number,
            "expires_at": reservation.expires_at,
        },
    )
    return reservation


def expire_reservations(session: Session, now: datetime) -> int:
    """Periodic sweep: mark lapsed reservations expired (their slots were already free)."""
    lapsed = repository.lapsed_reservations(session, now=now)
    for reservation in lapsed:
        reservation.status = "expired"
        audit.record(
            session,
            actor=SYSTEM_ACTOR,
            action="slot.reservation_expire",
            entity_type="slot_reservation",
            entity_id=str(reservation.id),
            before={"status": "active"},
            after={"status": "expired"},
            reason=f"not used by {reservation.expires_at.isoformat()}",
        )
    return len(lapsed)


def cohort_number_of(session: Session, cohort_id: uuid.UUID) -> int:
    cohort = repository.get_cohort(session, cohort_id)
    assert cohort is not None
    return cohort.number


def waitlist(session: Session, *, trial_id: str) -> list[WaitlistEntry]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return repository.waiting(session, trial_id)


def reservations(session: Session, *, trial_id: str) -> list[SlotReservation]:
    if trials_repository.get_trial(session, trial_id) is None:
        raise NotFound(f"no trial {trial_id}")
    return repository.reservations_of_trial(session, trial_id)
