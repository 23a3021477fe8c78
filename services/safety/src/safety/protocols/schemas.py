"""Response models of received protocol versions and of amendment reviews."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from safety.protocols.models import DltReviewRow, ProtocolVersionRow


class ProtocolVersionOut(BaseModel):
    trial_id: str
    sequence: int = Field(description="Activation order within the trial")
    protocol_id: str
    protocol_version: str
    content_hash: str
    activation: Literal["initial", "amendment"]
    effective_from: date | None = Field(description="null: from the start of the trial")
    activated_at: datetime
    reason: str | None
    received_at: datetime
    rules: dict[str, Any] = Field(description="The trial rules of this version, as published")

    @classmethod
    def of(cls, row: ProtocolVersionRow) -> ProtocolVersionOut:
        return cls(
            trial_id=row.trial_id,
            sequence=row.sequence,
            protocol_id=row.protocol_id,
            protocol_version=row.protocol_version,
            content_hash=row.content_hash,
            activation=row.activation,
            effective_from=row.effective_from,
            activated_at=row.activated_at,
            reason=row.reason,
            received_at=row.received_at,
            rules=row.rules,
        )


class DltReviewOut(BaseModel):
    """A signed DLT adjudication whose rule verdict differs under a newer protocol version."""

    id: uuid.UUID
    dlt_id: uuid.UUID
    trial_id: str
    subject_id: str
    ae_id: uuid.UUID
    ae_version: int
    adjudication: Literal["confirmed", "ruled_out"] = Field(
        description="The signed decision, unchanged by the amendment"
    )
    adjudicated_under_version: str
    adjudicated_matched_rules: list[str]
    protocol_version: str = Field(description="The version whose rules give another verdict")
    protocol_hash: str
    would_be_suspected: bool
    would_match_rules: list[str]
    reasons: list[str]
    status: Literal["open"]
    created_at: datetime

    @classmethod
    def of(cls, row: DltReviewRow) -> DltReviewOut:
        return cls(
            id=row.id,
            dlt_id=row.dlt_id,
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            ae_id=row.ae_id,
            ae_version=row.ae_version,
            adjudication=row.adjudication,
            adjudicated_under_version=row.adjudicated_under_version,
            adjudicated_matched_rules=list(row.adjudicated_matched_rules),
            protocol_version=row.protocol_version,
            protocol_hash=row.protocol_hash,
            would_be_suspected=row.would_be_suspected,
            would_match_rules=list(row.would_match_rules),
            reasons=list(row.reasons),
            status="open",
            created_at=row.created_at,
        )
