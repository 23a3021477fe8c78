"""The tracer: proves outbox → relay → broker → another service's inbox, on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import outbox
from doseline.auth import Principal, Role, require_roles
from doseline.contracts.system import TracerPing
from doseline.errors import NotFound
from doseline.events import Envelope
from doseline.http import DbSession, RequestModel
from doseline.schema import ServiceSchema

router = APIRouter(prefix="/v1/diagnostics", tags=["diagnostics"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


class TracerRequest(RequestModel):
    note: str = Field(default="", max_length=200)


class TracerSent(BaseModel):
    event_id: str
    event_type: str


class TracerReceipt(BaseModel):
    event_id: str
    consumer: str
    source: str
    received_at: str


@router.post(
    "/tracer", status_code=status.HTTP_202_ACCEPTED, summary="Send a tracer event to every service"
)
def send_tracer(body: TracerRequest, request: Request, session: DbSession, _: Admin) -> TracerSent:
    service = request.app.state.settings.service_name
    envelope = outbox.record_event(
        session, TracerPing(emitted_by=service, note=body.note), subject=None
    )
    return TracerSent(event_id=envelope.id, event_type=envelope.type)


@router.get("/tracer/{event_id}", summary="Whether this service received a tracer event")
def tracer_receipt(event_id: str, session: DbSession, _: Admin) -> TracerReceipt:
    inbox = ServiceSchema.of(session).kit.inbox
    row = session.execute(select(inbox).where(inbox.c.event_id == event_id)).first()
    if row is None:
        raise NotFound(f"tracer {event_id} has not reached this service (yet)")
    return TracerReceipt(
        event_id=row.event_id,
        consumer=row.consumer,
        source=row.source,
        received_at=row.received_at.isoformat(),
    )


def on_tracer(_session: Session, _envelope: Envelope) -> None:
    """Receiving the tracer is all it asks: the inbox row written by the consumer is the receipt."""
