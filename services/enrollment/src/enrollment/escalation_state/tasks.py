"""Consumer of the safety service's DLT events: suspected, confirmed, ruled out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.events import Envelope
from enrollment.escalation_state.service import DltAdjudication, DltStatus
from enrollment.workflows import dlt_adjudications


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
    dlt_adjudications.apply_dlt_adjudication(session, adjudication, now=datetime.now(UTC))
