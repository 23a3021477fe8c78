"""DLT adjudications from the safety service: stored if newest for their DLT, then recomputed.

Every write takes the trial's escalation lock first, so adjudications, window closures and
signatures on one trial are applied one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from doseline import audit
from enrollment.escalation_state import repository
from enrollment.escalation_state.recompute import recompute
from enrollment.escalation_state.records import SYSTEM_ACTOR

log = structlog.get_logger(__name__)

DltStatus = Literal["suspected", "confirmed", "ruled_out"]


@dataclass(frozen=True)
class DltAdjudication:
    trial_id: str
    subject_id: str
    dlt_id: str
    ae_id: str
    status: DltStatus
    adjudication_sequence: int
    grade: int
    study_day: int
    adjudicated_at: datetime
    event_id: str


def has_confirmed_dlt(session: Session, subject_id: str) -> bool:
    return subject_id in repository.confirmed_dlt_subjects(session, [subject_id])


def has_suspected_dlt(session: Session, subject_id: str) -> bool:
    """A DLT suspected for the subject and not adjudicated yet."""
    return subject_id in repository.suspected_dlt_subjects(session, [subject_id])


def apply_dlt_adjudication(
    session: Session, adjudication: DltAdjudication, *, now: datetime
) -> bool:
    """Store the adjudication if it is the newest for its DLT, then recompute; False if stale."""
    if not store_dlt_adjudication(session, adjudication, now=now):
        return False
    recompute_after_dlt(session, adjudication, now=now)
    return True


def recompute_after_dlt(session: Session, adjudication: DltAdjudication, *, now: datetime) -> None:
    if repository.get_state(session, adjudication.trial_id) is not None:
        recompute(
            session,
            trial_id=adjudication.trial_id,
            cause=f"DLT {adjudication.dlt_id} {adjudication.status.replace('_', ' ')}",
            now=now,
        )


def store_dlt_adjudication(
    session: Session, adjudication: DltAdjudication, *, now: datetime
) -> bool:
    """Store the adjudication if it is the newest for its DLT (under the escalation lock);
    False if stale. The caller recomputes the state.

    A DLT for a subject this trial has not enrolled is kept (`matched` false, logged as an
    error) and counts as soon as such a subject is enrolled: a safety fact is never dropped.
    """
    state = repository.lock_state(session, adjudication.trial_id)
    matched = state is not None and any(
        e.subject_id == adjudication.subject_id
        for e in repository.enrolments_of(session, adjudication.trial_id)
    )
    applied = repository.upsert_dlt_fact(
        session,
        {
            "dlt_id": adjudication.dlt_id,
            "trial_id": adjudication.trial_id,
            "subject_id": adjudication.subject_id,
            "status": adjudication.status,
            "adjudication_sequence": adjudication.adjudication_sequence,
            "ae_id": adjudication.ae_id,
            "grade": adjudication.grade,
            "study_day": adjudication.study_day,
            "event_id": adjudication.event_id,
            "adjudicated_at": adjudication.adjudicated_at,
            "matched": matched,
            "received_at": now,
        },
    )
    if not applied:
        log.info(
            "escalation.stale_dlt_adjudication_ignored",
            dlt_id=adjudication.dlt_id,
            sequence=adjudication.adjudication_sequence,
        )
        return False
    if not matched:
        log.error(
            "escalation.dlt_for_unknown_subject",
            trial_id=adjudication.trial_id,
            subject_id=adjudication.subject_id,
            dlt_id=adjudication.dlt_id,
        )
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="dlt.adjudication.apply",
        entity_type="dlt",
        entity_id=adjudication.dlt_id,
        after={
            "subject_id": adjudication.subject_id,
            "status": adjudication.status,
            "adjudication_sequence": adjudication.adjudication_sequence,
            "event_id": adjudication.event_id,
            "matched": matched,
        },
    )
    return True
