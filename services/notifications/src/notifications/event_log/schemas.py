"""The feed's response models: each item is the CloudEvent a webhook subscriber would receive."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field


class FeedEvent(BaseModel):
    """A structured CloudEvent 1.0; `sequence` is its position in the log (orders as text)."""

    specversion: Literal["1.0"]
    id: str
    source: str
    type: str
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: str
    dataschema: str
    sequence: str = Field(description="Position in the log, zero-padded to sort as text")
    correlationid: str
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[FeedEvent]
    next_cursor: str = Field(
        description=(
            "Pass as `after` to read on; store it to resume after downtime. Present even on "
            "an empty page, so a consumer that is up to date polls with the same cursor."
        )
    )
    has_more: bool = Field(description="True if more events were already waiting")
