"""Escalation use cases, one module per responsibility; the endpoints and the other use-case
packages and enrollment.workflows call them through this module.

- `recompute`: derive the state from stored facts (every recompute takes the trial's escalation
  lock, `lock`, so DLT events, window closures and signatures on one trial apply one at a time);
- `gating`: keep the pending decision in step with the state, withdraw a signed decision the
  facts no longer support;
- `signing`: the two signatures that put a decision in effect;
- `next_cohort`: open the cohort a signed decision calls for;
- `dlt_facts`: DLT adjudications from the safety service;
- `late_dlts` and `resolutions`: DLTs confirmed after a signed decision was acted on, and their
  signed resolutions (ADR 0017);
- `views`: what people read.
"""

from __future__ import annotations

from enrollment.escalation_state.dlt_facts import (
    DltAdjudication,
    DltStatus,
    apply_dlt_adjudication,
    has_confirmed_dlt,
    has_suspected_dlt,
    recompute_after_dlt,
    store_dlt_adjudication,
)
from enrollment.escalation_state.next_cohort import open_next_cohort
from enrollment.escalation_state.recompute import (
    TrialFacts,
    gather_facts,
    initialise,
    lock,
    recompute,
)
from enrollment.escalation_state.records import SYSTEM_ACTOR
from enrollment.escalation_state.resolutions import (
    OUTCOMES,
    RESOLUTION_STATUSES,
    Expansion,
    ResolutionRequest,
    RevisedDecision,
    Signing,
    propose_resolution,
    sign_resolution,
)
from enrollment.escalation_state.signing import SIGNING_ROLES, sign_decision
from enrollment.escalation_state.views import (
    DecisionView,
    DoseLevelSummary,
    EscalationView,
    LateDltView,
    ResolutionView,
    decision_view,
    decisions,
    dose_level_summaries,
    escalation_view,
    history,
    resolution_view,
    resolutions,
)

__all__ = [
    "OUTCOMES",
    "RESOLUTION_STATUSES",
    "SIGNING_ROLES",
    "SYSTEM_ACTOR",
    "DecisionView",
    "DltAdjudication",
    "DltStatus",
    "DoseLevelSummary",
    "EscalationView",
    "Expansion",
    "LateDltView",
    "ResolutionRequest",
    "ResolutionView",
    "RevisedDecision",
    "Signing",
    "TrialFacts",
    "apply_dlt_adjudication",
    "decision_view",
    "decisions",
    "dose_level_summaries",
    "escalation_view",
    "gather_facts",
    "has_confirmed_dlt",
    "has_suspected_dlt",
    "history",
    "initialise",
    "lock",
    "open_next_cohort",
    "propose_resolution",
    "recompute",
    "recompute_after_dlt",
    "resolution_view",
    "resolutions",
    "sign_decision",
    "sign_resolution",
    "store_dlt_adjudication",
]
