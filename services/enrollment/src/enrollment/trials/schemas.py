"""Request and response models of the trials API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doseline.http import RequestModel, exactly_one_of


class TrialCreate(RequestModel):
    """A trial from a protocol document: the YAML text, or the name of a shipped protocol."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of(("protocol_yaml",), ("shipped_protocol",))
    )

    protocol_yaml: str | None = Field(
        default=None, max_length=200_000, description="The protocol document (YAML)"
    )
    shipped_protocol: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,59}$",
        description="Name of a protocol shipped with the service, e.g. 'hdmsc-rp-01'",
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> TrialCreate:
        if (self.protocol_yaml is None) == (self.shipped_protocol is None):
            raise ValueError("give exactly one of protocol_yaml and shipped_protocol")
        return self


class ProtocolAmendment(RequestModel):
    protocol_yaml: str = Field(max_length=200_000)
    reason: str = Field(min_length=3, max_length=2000, description="Why the protocol changed")
    effective_from: date | None = Field(
        default=None,
        description=(
            "First site date the new version governs (facts dated from then on are judged by "
            "it); default today at the site; may be in the past, not in the future"
        ),
    )


class ProtocolVersionOut(BaseModel):
    protocol_id: str
    version: str
    content_hash: str
    loaded_at: datetime
    loaded_by: str


class TrialOut(BaseModel):
    id: str
    site: str
    time_zone: str
    status: str
    mtd: int | None
    protocol: ProtocolVersionOut
    enrolment_cap: int
    dose_levels: int
    design_variant: str
    created_at: datetime
    completed_at: datetime | None
