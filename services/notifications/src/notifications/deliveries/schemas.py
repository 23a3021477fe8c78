"""Response models of the delivery log."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel


class AttemptOut(BaseModel):
    number: int
    attempted_at: AwareDatetime
    status_code: int | None
    latency_ms: float
    outcome: str
    response_excerpt: str | None
    error: str | None
    next_attempt_at: AwareDatetime | None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: str
    status: str
    attempts: int
    next_attempt_at: AwareDatetime | None
    last_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    last_status_code: int | None
    last_error: str | None
    replays: int
    created_at: AwareDatetime


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
