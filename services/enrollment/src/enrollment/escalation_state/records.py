"""What the audit trail records of a decision, and the actor of the service's own writes."""

from __future__ import annotations

from enrollment.escalation_state.models import EscalationDecision

SYSTEM_ACTOR = "enrollment service <system>"


def decision_record(row: EscalationDecision) -> dict[str, object]:
    return {
        "cohort_number": row.cohort_number,
        "outcomes": row.outcomes,
        "outcome": row.outcome,
        "continue_trial": row.continue_trial,
        "next_dose": row.next_dose,
        "next_cohort_size": row.next_cohort_size,
        "mtd": row.mtd,
        "reason": row.reason,
        "state_hash": row.state_hash,
        "protocol_version": row.protocol_version,
        "protocol_hash": row.protocol_hash,
        "status": row.status,
    }
