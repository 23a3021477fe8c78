"""Consumer of enrollment's protocol activations: store, then re-place every assessment."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doseline.contracts.protocol import ProtocolActivated
from doseline.events import Envelope
from imaging.assessments import service as assessments
from imaging.protocols import service
from imaging.subjects import repository as subjects_repository


def on_protocol_activated(session: Session, envelope: Envelope) -> None:
    event = ProtocolActivated.from_envelope(envelope)
    row = service.record(session, event)
    if row is None:
        return
    actor = f"event <enrollment.protocol.activated> ({row.protocol_version})"
    for subject in subjects_repository.subjects_of_trial(session, row.trial_id, lock=True):
        assessments.reassign_visits(session, subject, actor=actor)
