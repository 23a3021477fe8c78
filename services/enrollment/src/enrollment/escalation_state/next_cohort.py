"""Opening the next cohort: only the cohort a signed decision calls for, within the cap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.errors import Conflict, NotFound
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Cohort
from enrollment.escalation_state import repository
from enrollment.escalation_state.late_dlts import pending_late_dlts
from enrollment.escalation_state.signing import SIGNING_ROLES
from enrollment.problems import (
    COHORT_ALREADY_OPEN,
    ENROLMENT_CAP_REACHED,
    ESCALATION_GATE_CLOSED,
    TRIAL_COMPLETED,
)
from enrollment.trials import repository as trials_repository
from enrollment.trials.protocols import protocol_of


def open_next_cohort(
    session: Session, *, trial_id: str, principal: Principal, now: datetime
) -> Cohort:
    """Open the cohort the signed decision calls for; refused while the gate is closed."""
    state = repository.lock_state(session, trial_id)
    trial = trials_repository.get_trial(session, trial_id, for_update=True)
    if state is None or trial is None:
        raise NotFound(f"no trial {trial_id}")
    if trial.status != "open":
        raise Conflict(
            f"trial {trial_id} is {trial.status}; no cohort can open", problem=TRIAL_COMPLETED
        )
    cohorts = repository.cohorts_of(session, trial_id)
    last = cohorts[-1]
    decision = repository.decided_decision(session, trial_id, last.number)
    if decision is None:
        raise _gate_closed(session, trial_id, last)
    if decision.next_cohort_opened:
        raise Conflict(
            f"the cohort after cohort {last.number} is already open", problem=COHORT_ALREADY_OPEN
        )
    assert decision.next_dose is not None
    assert decision.next_cohort_size is not None
    cap = protocol_of(session, trial).enrolment.cap
    enrolled = cohorts_repository.trial_enrolled_count(session, trial_id)
    if enrolled + decision.next_cohort_size > cap:
        raise Conflict(
            f"cohort {last.number + 1} needs {decision.next_cohort_size} subjects, but"
            f" {enrolled} of the cap of {cap} are enrolled; the protocol cannot continue as"
            " decided: amend it or stop the trial",
            problem=ENROLMENT_CAP_REACHED,
        )
    decision.next_cohort_opened = True
    return cohorts_service.open_cohort(
        session,
        trial=trial,
        number=last.number + 1,
        dose_level=decision.next_dose,
        size=decision.next_cohort_size,
        decision_id=decision.id,
        actor=principal.audit_name,
        now=now,
    )


def _gate_closed(session: Session, trial_id: str, last: Cohort) -> Conflict:
    pending = repository.pending_decision(session, trial_id)
    late = pending_late_dlts(session, trial_id)
    if pending is None and late:
        detail = (
            f"DLT {late[0].fact.dlt_id} of cohort {late[0].cohort_number} was confirmed after the"
            f" decision on cohort {late[0].decision.cohort_number} was signed and acted on; the"
            " investigator and the safety physician resolve it first"
            f" (POST /v1/trials/{trial_id}/escalation/late-dlt-resolutions)"
        )
    elif pending is None:
        detail = (
            f"cohort {last.number} at dose level {last.dose_level} has no escalation decision"
            " yet (its DLT windows are still open); the next cohort opens after that decision"
            " is signed"
        )
    else:
        signed = {s.role for s in repository.signatures_of(session, pending.id)}
        missing = [r.value for r in SIGNING_ROLES if r.value not in signed]
        detail = (
            f"the escalation decision for cohort {last.number} still needs the signature of"
            f" the {' and the '.join(missing)}; the next cohort opens only after both"
        )
    return Conflict(detail, problem=ESCALATION_GATE_CLOSED)
