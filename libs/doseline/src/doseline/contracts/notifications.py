"""Events published by the notifications service about webhook subscriptions."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from doseline.contracts.registry import register
from doseline.events import EventContract


@register
class SubscriptionDisabled(EventContract):
    event_type: ClassVar[str] = "notifications.subscription.disabled"
    description: ClassVar[str] = (
        "A webhook subscription was disabled automatically: its endpoint answered 410 Gone, "
        "or a delivery still failed after the whole retry schedule."
    )

    subscription_id: str
    target_host: str = Field(description="Host of the endpoint (the full URL may hold tokens)")
    reason: Literal["gone", "retries_exhausted"]
    event_id: str = Field(description="The event whose delivery failed last")
    attempts: int = Field(ge=1, description="Attempts made for that event")
    last_status_code: int | None = Field(description="HTTP status of the last attempt, if any")
    disabled_at: AwareDatetime
