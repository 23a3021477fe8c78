"""Operational events that prove the plumbing end to end."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from doseline.contracts.registry import register
from doseline.events import EventContract


@register
class TracerPing(EventContract):
    """A tracer sent through one service's outbox to every other service's inbox."""

    event_type: ClassVar[str] = "system.tracer.ping"
    public: ClassVar[bool] = False
    description: ClassVar[str] = "Diagnostic event that proves outbox, relay, broker and inbox."

    emitted_by: str = Field(max_length=40)
    note: str = Field(default="", max_length=200)
