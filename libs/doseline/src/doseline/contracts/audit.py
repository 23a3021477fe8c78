"""Events about the audit trails themselves."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from doseline.contracts.registry import register
from doseline.events import EventContract


@register
class AuditCheckpoint(EventContract):
    """A service's audit chain head, published so that a copy lives outside its database."""

    event_type: ClassVar[str] = "audit.checkpoint"
    description: ClassVar[str] = (
        "A service's audit trail head (last entry, its MAC, the number of entries) at a moment; "
        "`audit-verify --checkpoints` compares the chain with these to see a cut tail or a "
        "chain rewritten from an earlier entry."
    )

    service: str = Field(max_length=40, description="The service whose audit trail this is")
    entry: int = Field(ge=0, description="Number (seq) of the last entry; 0 for an empty trail")
    mac: str = Field(pattern=r"^[0-9a-f]{64}$", description="The last entry's MAC (hex)")
    count: int = Field(ge=0, description="Entries in the trail up to and including `entry`")
    algorithm: str = Field(max_length=20, description="How the last entry was chained")
    key_id: str | None = Field(max_length=64, description="Key id of the last entry's MAC")
    checkpointed_at: AwareDatetime
