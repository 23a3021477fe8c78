"""Consumer of enrollment's protocol activations."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doseline import audit
from doseline.contracts.protocol import ProtocolActivated
from doseline.events import Envelope
from safety.adverse_events import service as adverse_events
from safety.protocols import service


def on_protocol_activated(session: Session, envelope: Envelope) -> None:
    """Store the version (once) and judge by it every AE it now governs."""
    row = service.record(session, ProtocolActivated.from_envelope(envelope))
    if row is None:
        return
    outcome = adverse_events.apply_protocol_version(
        session,
        trial_id=row.trial_id,
        sequence=row.sequence,
        protocol_version=row.protocol_version,
    )
    audit.record(
        session,
        actor="event <enrollment.protocol.activated>",
        action="protocol.applied",
        entity_type="protocol_version",
        entity_id=f"{row.trial_id}#{row.sequence}",
        after={
            "protocol_version": row.protocol_version,
            "reassessed": outcome.reassessed,
            "listed_for_review": outcome.listed_for_review,
        },
    )
