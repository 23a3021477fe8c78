"""Creating a trial and amending its protocol: the trial, then its cohorts and escalation state,
then the rules published to every service."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from enrollment.cohorts import service as cohorts_service
from enrollment.escalation_state import service as escalation_service
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials import service as trials_service
from enrollment.trials.models import Trial

BOOTSTRAP_PROTOCOL = "hdmsc-rp-01"
BOOTSTRAP_ACTOR = "bootstrap <system>"


def create_trial(session: Session, *, document: str, actor: str, now: datetime) -> Trial:
    """A trial under `document`, with its first cohort open at the starting dose."""
    protocol = trials_service.parse_protocol(document)
    trial = trials_service.create_trial(
        session, protocol=protocol, document=document, actor=actor, now=now
    )
    design = protocol.design()
    cohorts_service.open_cohort(
        session,
        trial=trial,
        number=1,
        dose_level=design.start_dose,
        size=design.cohort_size,
        decision_id=None,
        actor=actor,
        now=now,
    )
    escalation_service.initialise(session, trial=trial, now=now)
    trials_service.publish_activation(
        session,
        trial=trial,
        protocol=protocol,
        activation="initial",
        effective_from=None,
        reason=None,
        now=now,
    )
    return trial


def amend_protocol(
    session: Session,
    *,
    trial: Trial,
    document: str,
    reason: str,
    actor: str,
    now: datetime,
    effective_from: date | None = None,
) -> Trial:
    """A new protocol version for the trial, and the escalation state recomputed under it."""
    protocol = trials_service.parse_protocol(document)
    trials_service.amend_protocol(
        session,
        trial=trial,
        protocol=protocol,
        document=document,
        sites_with_subjects=subjects_repository.sites_of_trial_subjects(session, trial.id).values(),
        reason=reason,
        actor=actor,
        now=now,
        effective_from=effective_from,
    )
    escalation_service.recompute(
        session,
        trial_id=trial.id,
        cause=f"protocol amended to {protocol.protocol.version}",
        now=now,
    )
    return trial


def bootstrap(session: Session) -> list[str]:
    """Create HDMSC-RP-01 from the shipped protocol if it is absent (idempotent)."""
    document = trials_service.read_shipped_protocol(BOOTSTRAP_PROTOCOL)
    protocol = trials_service.parse_protocol(document)
    trial = trials_repository.get_trial(session, protocol.protocol.id)
    if trial is not None:
        return [
            f"trial {protocol.protocol.id} already exists",
            *trials_service.publish_if_unpublished(session, trial),
        ]
    create_trial(session, document=document, actor=BOOTSTRAP_ACTOR, now=datetime.now(UTC))
    return [f"trial {protocol.protocol.id} created from protocol {protocol.protocol.version}"]
