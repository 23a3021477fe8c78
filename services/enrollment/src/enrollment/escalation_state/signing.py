"""Electronic signatures on escalation decisions: two roles, two people, the state signed; with
both, the decision takes effect (the cohort is decided, or the trial completes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal, Role
from doseline.contracts.enrollment import EscalationDecided, TrialCompleted
from doseline.errors import Conflict, Forbidden, NotFound
from doseline.signatures import require_fresh_authentication
from enrollment.cohorts import service as cohorts_service
from enrollment.escalation_state import repository
from enrollment.escalation_state.models import DecisionSignature, EscalationDecision
from enrollment.escalation_state.records import SYSTEM_ACTOR, decision_record
from enrollment.problems import (
    ALREADY_SIGNED,
    DECISION_NOT_PENDING,
    SAME_SIGNER,
    SIGNING_ROLE_MISSING,
    STATE_CHANGED,
)
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial

SIGNING_ROLES = (Role.INVESTIGATOR, Role.SAFETY_PHYSICIAN)


def require_signing_role(principal: Principal, role: Role, *, what: str, now: datetime) -> None:
    """The checks every signature on an escalation matter makes before touching the database:
    a signing role, carried by the token, entered within the re-authentication window."""
    if role not in SIGNING_ROLES:
        raise Forbidden(f"{what} are signed by an investigator and a safety physician")
    if role not in principal.roles:
        raise Forbidden(
            f"you cannot sign as {role.value}: your token does not carry that role",
            problem=SIGNING_ROLE_MISSING,
        )
    require_fresh_authentication(principal, now=now)


def missing_roles(signed_roles: set[str]) -> list[str]:
    return [r.value for r in SIGNING_ROLES if r.value not in signed_roles]


def sign_decision(
    session: Session,
    *,
    trial_id: str,
    decision_id: uuid.UUID,
    principal: Principal,
    role: Role,
    meaning: str,
    signed_state_hash: str,
    now: datetime,
) -> tuple[EscalationDecision, DecisionSignature]:
    """Add one of the two signatures; with both, the decision takes effect."""
    require_signing_role(principal, role, what="escalation decisions", now=now)
    state = repository.lock_state(session, trial_id)
    decision = repository.get_decision(session, decision_id, for_update=True)
    if state is None or decision is None or decision.trial_id != trial_id:
        raise NotFound(f"trial {trial_id} has no escalation decision {decision_id}")
    if decision.status != "pending":
        raise Conflict(
            f"this decision is {decision.status}; only a pending decision can be signed",
            problem=DECISION_NOT_PENDING,
            extra={"decision_status": decision.status},
        )
    if signed_state_hash != state.state_hash or decision.state_hash != state.state_hash:
        raise Conflict(
            "the escalation state changed since you read it; review the new state and sign its"
            " hash",
            problem=STATE_CHANGED,
            extra={"current_state_hash": state.state_hash},
        )
    signatures = repository.signatures_of(session, decision.id)
    refuse_second_signature(
        {s.signer for s in signatures}, {s.role for s in signatures}, principal, role, "decision"
    )
    signature = _add_signature(session, decision, principal, role, meaning, now=now)
    if len(signatures) + 1 == len(SIGNING_ROLES):
        take_effect(
            session, decision, now=now, reason="signed by investigator and safety physician"
        )
    return decision, signature


def _add_signature(
    session: Session,
    decision: EscalationDecision,
    principal: Principal,
    role: Role,
    meaning: str,
    *,
    now: datetime,
) -> DecisionSignature:
    assert principal.auth_time is not None
    signature = DecisionSignature(
        decision_id=decision.id,
        role=role.value,
        signer=principal.subject,
        signer_name=principal.name,
        meaning=meaning,
        state_hash=decision.state_hash,
        authenticated_at=principal.auth_time,
        signed_at=now,
    )
    session.add(signature)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="escalation.decision.sign",
        entity_type="escalation_decision",
        entity_id=str(decision.id),
        after={
            "role": role.value,
            "meaning": meaning,
            "state_hash": decision.state_hash,
            "signed_at": now,
        },
    )
    return signature


def refuse_second_signature(
    signers: set[str], roles: set[str], principal: Principal, role: Role, what: str
) -> None:
    """409 if this person already signed, or this role is already signed."""
    if principal.subject in signers:
        raise Conflict(
            f"you have already signed this {what}; the second signature must come from a"
            " different person",
            problem=SAME_SIGNER,
        )
    if role.value in roles:
        raise Conflict(
            f"this {what} already has the {role.value} signature", problem=ALREADY_SIGNED
        )


def take_effect(
    session: Session, decision: EscalationDecision, *, now: datetime, reason: str
) -> None:
    """The decision is in effect: its cohort is decided, and a stop completes the trial."""
    before = decision_record(decision)
    decision.status = "decided"
    decision.decided_at = now
    trial = trials_repository.get_trial(session, decision.trial_id, for_update=True)
    assert trial is not None
    cohort = cohorts_service.cohort_by_number(session, trial.id, decision.cohort_number)
    cohort.status = "decided"
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.decision.take_effect",
        entity_type="escalation_decision",
        entity_id=str(decision.id),
        before=before,
        after=decision_record(decision),
        reason=reason,
    )
    outbox.record_event(
        session,
        EscalationDecided(
            trial_id=trial.id,
            decision_id=str(decision.id),
            recommendation_id=str(decision.id),
            outcome=decision.outcome,
            next_dose=decision.next_dose,
            mtd=decision.mtd,
            state_hash=decision.state_hash,
            signed_at=now,
        ),
        subject=f"trials/{trial.id}/escalation/decisions/{decision.id}",
    )
    if not decision.continue_trial:
        _complete_trial(session, trial, decision, now=now)


def _complete_trial(
    session: Session, trial: Trial, decision: EscalationDecision, *, now: datetime
) -> None:
    trial_before = {"status": trial.status, "mtd": trial.mtd}
    trial.status = "completed"
    trial.mtd = decision.mtd
    trial.completed_at = now
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="trial.complete",
        entity_type="trial",
        entity_id=trial.id,
        before=trial_before,
        after={"status": "completed", "mtd": decision.mtd},
        reason=decision.reason,
    )
    outbox.record_event(
        session,
        TrialCompleted(
            trial_id=trial.id,
            mtd=decision.mtd,
            outcomes=decision.outcomes,
            completed_at=now,
        ),
        subject=f"trials/{trial.id}",
    )
