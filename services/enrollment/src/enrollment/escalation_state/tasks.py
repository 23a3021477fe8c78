"""Consumer of the safety service's DLT events: suspected, confirmed, ruled out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.events import Envelope
from enrollment.dlt_windows.service import hold_for_late_fact, reassess_window
from enrollment.escalation_state.service import (
    DltAdjudication,
    DltStatus,
    recompute_after_dlt,
    store_dlt_adjudication,
)


def on_dlt_adjudicated(session: Session, envelope: Envelope) -> None:
    """Apply the event if it is the newest for its DLT (any order of arrival)."""
    data: DltSuspected | DltConfirmed | DltRuledOut
    if envelope.type == DltConfirmed.event_type:
        data = DltConfirmed.from_envelope(envelope)
    elif envelope.type == DltRuledOut.event_type:
        data = DltRuledOut.from_envelope(envelope)
    else:
        data = DltSuspected.from_envelope(envelope)
    status: DltStatus = (
        "confirmed"
        if isinstance(data, DltConfirmed)
        else "ruled_out"
        if isinstance(data, DltRuledOut)
        else "suspected"
    )
    adjudication = DltAdjudication(
        trial_id=data.trial_id,
        subject_id=data.subject_id,
        dlt_id=data.dlt_id,
        ae_id=data.ae_id,
        status=status,
        adjudication_sequence=data.adjudication_sequence,
        grade=data.grade,
        study_day=data.study_day,
        # A suspicion is not adjudicated yet: the time it was raised stands in.
        adjudicated_at=envelope.time if isinstance(data, DltSuspected) else data.adjudicated_at,
        event_id=envelope.id,
    )
    now = datetime.now(UTC)
    hold_for_late_fact(session, subject_id=adjudication.subject_id)
    if not store_dlt_adjudication(session, adjudication, now=now):
        return
    # A DLT adjudicated after the subject's window closed may change who is evaluable and
    # which replacement slots stand: re-assess first, so the state is recomputed once, right.
    reassess_window(
        session,
        subject_id=adjudication.subject_id,
        late_fact=f"DLT {adjudication.dlt_id} {status.replace('_', ' ')}",
        now=now,
    )
    recompute_after_dlt(session, adjudication, now=now)
