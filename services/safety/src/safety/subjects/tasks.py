"""Consumers of enrollment's events: subjects, their DLT window, and AEs waiting for it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.events import Envelope
from safety.adverse_events import service as adverse_events
from safety.subjects import service


def on_subject_enrolled(session: Session, envelope: Envelope) -> None:
    service.record_enrolment(session, SubjectEnrolled.from_envelope(envelope))


def on_infusion_administered(session: Session, envelope: Envelope) -> None:
    """Store the DLT window; adverse events reported before it was known are evaluated now."""
    subject, window_changed = service.record_infusion(
        session, InfusionAdministered.from_envelope(envelope)
    )
    if window_changed:
        adverse_events.reassess_subject(
            session, subject, actor="event <enrollment.infusion.administered>"
        )
