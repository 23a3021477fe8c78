"""The consumer of every public event: append it to the log, then wake the publishers."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from doseline.consumers import Handler
from doseline.events import Envelope
from notifications.event_log import service

AfterAppend = Callable[[Engine], None]


def record_event_handler(after_append: AfterAppend) -> Handler:
    """The handler for `notifications__record_event`; `after_append` runs once it committed.

    Webhook deliveries and the topic exchange start right after the commit instead of at the
    next periodic sweep, which keeps a DLT's delivery within tens of milliseconds; the sweep
    remains the safety net for retries and for anything a crash interrupted.
    """

    def record_event(session: Session, envelope: Envelope) -> None:
        if service.append(session, envelope) is None:
            return
        engine = session.get_bind()
        if not isinstance(engine, Engine):
            engine = engine.engine

        def committed(_session: Session) -> None:
            after_append(engine)

        event.listen(session, "after_commit", committed, once=True)

    return record_event
