"""What the notifications API returns, as plain typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _optional_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


@dataclass(frozen=True)
class Event:
    """A CloudEvent 1.0 from the feed or a webhook; `data` carries study ids only."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str | None
    dataschema: str
    sequence: str
    correlation_id: str
    data: dict[str, Any]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Event:
        return cls(
            id=str(body["id"]),
            type=str(body["type"]),
            source=str(body["source"]),
            time=_time(body["time"]),
            subject=body.get("subject"),
            dataschema=str(body["dataschema"]),
            sequence=str(body["sequence"]),
            correlation_id=str(body.get("correlationid", "")),
            data=dict(body["data"]),
        )


@dataclass(frozen=True)
class EventPage:
    items: list[Event]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    description: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    consecutive_failures: int
    version: int

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Subscription:
        return cls(
            id=str(body["id"]),
            url=str(body["url"]),
            description=str(body["description"]),
            event_types=[str(p) for p in body["event_types"]],
            active=bool(body["active"]),
            disabled_reason=body.get("disabled_reason"),
            consecutive_failures=int(body["consecutive_failures"]),
            version=int(body["version"]),
        )


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str  # `whsec_…`: shown once; store it with the receiver


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Delivery:
        return cls(
            id=str(body["id"]),
            event_id=str(body["event_id"]),
            status=str(body["status"]),
            attempts=int(body["attempts"]),
            last_status_code=body.get("last_status_code"),
            last_error=body.get("last_error"),
            next_attempt_at=_optional_time(body.get("next_attempt_at")),
            delivered_at=_optional_time(body.get("delivered_at")),
        )


@dataclass(frozen=True)
class Replay:
    scheduled: int
    event_ids: list[str]
