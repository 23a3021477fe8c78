"""Consumer of the safety service's DLT adjudications (confirmed, ruled out)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from doseline.contracts.safety import DltConfirmed, DltRuledOut
from doseline.events import Envelope
from enrollment.escalation_state.service import DltAdjudication, apply_dlt_adjudication


def on_dlt_adjudicated(session: Session, envelope: Envelope) -> None:
    """Apply the adjudication if it is the newest for its DLT (any order of arrival)."""
    data: DltConfirmed | DltRuledOut
    if envelope.type == DltConfirmed.event_type:
        data = DltConfirmed.from_envelope(envelope)
    else:
        data = DltRuledOut.from_envelope(envelope)
    apply_dlt_adjudication(
        session,
        DltAdjudication(
            trial_id=data.trial_id,
            subject_id=data.subject_id,
            dlt_id=data.dlt_id,
            ae_id=data.ae_id,
            confirmed=isinstance(data, DltConfirmed),
            adjudication_sequence=data.adjudication_sequence,
            grade=data.grade,
            study_day=data.study_day,
            adjudicated_at=data.adjudicated_at,
            event_id=envelope.id,
        ),
        now=datetime.now(UTC),
    )
