"""Request and response models of the subscriptions API."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from doseline.http import RequestModel, exactly_one_of

EventTypePatterns = list[str]


class SubscriptionCreate(RequestModel):
    url: str = Field(min_length=1, max_length=2000, description="https:// endpoint to POST to")
    event_types: EventTypePatterns = Field(
        min_length=1,
        max_length=50,
        description=(
            "Event type patterns: `safety.dlt.confirmed`, `safety.dlt.*` (one word), "
            "`safety.#` (any number of words), `#` (everything)"
        ),
        examples=[["safety.dlt.*", "safety.sae.#"]],
    )
    description: str = Field(default="", max_length=200)
    sites: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description=(
            'Sites whose subjects\' events it receives, `["*"]` for every site; each must be one'
            " of your token's. Default: your token's sites. Trial-level events reach every"
            " subscription."
        ),
        examples=[["WCH"]],
    )


class SubscriptionUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # Each field may be left out but not sent as null: the schema shows no null.
    url: Annotated[str, Field(min_length=1, max_length=2000)] | SkipJsonSchema[None] = None
    event_types: (
        Annotated[EventTypePatterns, Field(min_length=1, max_length=50)] | SkipJsonSchema[None]
    ) = None
    description: Annotated[str, Field(max_length=200)] | SkipJsonSchema[None] = None
    active: bool | SkipJsonSchema[None] = Field(
        default=None,
        description="false pauses deliveries; true resumes them (and re-enables a disabled one)",
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> SubscriptionUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of url, event_types, description, active")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class SecretInfo(BaseModel):
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = Field(description="None for the current secret")


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    sites: list[str]
    active: bool
    disabled_reason: str | None
    disabled_at: AwareDatetime | None
    consecutive_failures: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int
    secrets: list[SecretInfo] = Field(description="When each signing secret was made and expires")


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(
        description=(
            "The `whsec_` signing secret. Shown only now: store it with the receiver. Null in "
            "the replay of an Idempotency-Key (header `Idempotent-Withheld: secret`): it was "
            "shown once and is kept nowhere in clear"
        )
    )


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None = None


class SecretRotation(RequestModel):
    overlap_hours: float | None = Field(
        default=None,
        ge=0,
        le=720,
        description="How long the old secret keeps signing (default from the settings)",
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new `whsec_` secret. Shown only now.")
    previous_secret_expires_at: AwareDatetime | None


class ReplayRequest(RequestModel):
    """One event again, or every event of a time range."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of(("event_id",), ("from_time", "to_time"))
    )

    event_id: str | None = Field(default=None, min_length=1, max_length=64)
    from_time: AwareDatetime | None = Field(
        default=None, description="Replay events that occurred at or after this time"
    )
    to_time: AwareDatetime | None = Field(
        default=None, description="… and before this time (exclusive)"
    )

    @model_validator(mode="after")
    def _one_event_or_a_range(self) -> ReplayRequest:
        if self.event_id is not None:
            if self.from_time is not None or self.to_time is not None:
                raise ValueError("send either event_id or from_time and to_time, not both")
            return self
        if self.from_time is None or self.to_time is None:
            raise ValueError("send event_id, or both from_time and to_time")
        if self.to_time <= self.from_time:
            raise ValueError("to_time must be after from_time")
        return self


class ReplayScheduled(BaseModel):
    scheduled: int = Field(description="Deliveries queued for an immediate attempt")
    event_ids: list[str]
