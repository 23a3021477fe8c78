"""A DLT adjudication from the safety service: stored if newest for its DLT, the subject's
closed DLT window re-assessed with it, then the escalation state recomputed once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from enrollment.escalation_state import service as escalation_service
from enrollment.escalation_state.service import DltAdjudication
from enrollment.workflows import late_facts


def apply_dlt_adjudication(
    session: Session, adjudication: DltAdjudication, *, now: datetime
) -> None:
    late_facts.hold_for_late_fact(session, subject_id=adjudication.subject_id)
    if not escalation_service.store_dlt_adjudication(session, adjudication, now=now):
        return
    # A DLT adjudicated after the subject's window closed may change who is evaluable and
    # which replacement slots stand: re-assess first, so the state is recomputed once, right.
    late_facts.reassess_window(
        session,
        subject_id=adjudication.subject_id,
        late_fact=f"DLT {adjudication.dlt_id} {adjudication.status.replace('_', ' ')}",
        now=now,
    )
    escalation_service.recompute_after_dlt(session, adjudication, now=now)
