"""The event envelope (CloudEvents 1.0 attributes plus a correlation id) and versioned contracts."""

from __future__ import annotations

import os
import time as _time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EVENT_SCHEMA_PREFIX = "urn:doseline:event"


def new_event_id() -> str:
    """A time-ordered unique id (RFC 9562 UUIDv7), so ids sort roughly by creation time."""
    millis = _time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 9562 variant
    value |= rand & (2**62 - 1)
    return str(uuid.UUID(int=value))


class Envelope(BaseModel):
    """A structured-mode CloudEvent as Doseline sends it between services and to subscribers.

    `source` + `id` are unique per event; `correlationid` (a CloudEvents extension: lowercase
    alphanumerics only) carries the originating request's correlation id through every hop.
    Data carries pseudonymous study ids only, never a hospital identifier.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(
        min_length=1, max_length=120, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
    )
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=200)
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(min_length=1, max_length=200)
    correlationid: str = Field(min_length=1, max_length=64)
    data: dict[str, Any]


class EventContract(BaseModel):
    """The payload of one event type at one version; subclasses name both.

    A breaking change is a new class with `version` + 1 (and a new `dataschema`); consumers
    keep accepting the old version until every producer has moved.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    public: ClassVar[bool] = True
    description: ClassVar[str] = ""

    @classmethod
    def dataschema(cls) -> str:
        return f"{EVENT_SCHEMA_PREFIX}:{cls.event_type}:v{cls.version}"

    def envelope(
        self,
        *,
        source: str,
        subject: str | None,
        correlation_id: str,
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        return Envelope(
            id=event_id or new_event_id(),
            source=source,
            type=self.event_type,
            time=time or datetime.now(UTC),
            subject=subject,
            dataschema=self.dataschema(),
            correlationid=correlation_id.replace("-", ""),
            data=self.model_dump(mode="json"),
        )

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Self:
        if envelope.type != cls.event_type or envelope.dataschema != cls.dataschema():
            raise ValueError(
                f"{cls.__name__} reads {cls.event_type} v{cls.version}, "
                f"not {envelope.type} ({envelope.dataschema})"
            )
        return cls.model_validate(envelope.data)


SITE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class SubjectEvent(EventContract):
    """An event about one subject: it names the subject's site, so that every consumer (the
    feed, webhooks, the other services' projections) can keep it within the sites of a caller.
    """

    site_id: str = Field(
        min_length=1,
        max_length=40,
        pattern=SITE_ID_PATTERN,
        description="The site the subject belongs to (an id from the protocol's `sites`)",
    )
