"""Request and response models of dose orders: a hold or a reduction, and a hold's outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doseline.http import RequestModel


class DoseOrderCreate(RequestModel):
    """A hold (no `percent_of_dose`) or a reduction (with it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "properties": {
                        "kind": {"const": "hold"},
                        "percent_of_dose": {"type": "null"},
                    }
                },
                {
                    "required": ["percent_of_dose"],
                    "properties": {
                        "kind": {"const": "reduction"},
                        "percent_of_dose": {"not": {"type": "null"}},
                    },
                },
            ]
        }
    )

    kind: Literal["hold", "reduction"] = Field(
        description=(
            "hold: nothing is prepared or given until an investigator releases it; reduction:"
            " every later dose at `percent_of_dose` of the assigned level's"
        )
    )
    percent_of_dose: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description=(
            "Reduction only: every later dose at this % of the assigned level's dose for the"
            " weight; a later reduction may only lower it"
        ),
    )
    reason: str = Field(
        min_length=3, max_length=2000, description="Why, in the investigator's words"
    )

    @model_validator(mode="after")
    def _percent_with_a_reduction_only(self) -> DoseOrderCreate:
        if self.kind == "reduction" and self.percent_of_dose is None:
            raise ValueError("a reduction needs percent_of_dose (1 to 99)")
        if self.kind == "hold" and self.percent_of_dose is not None:
            raise ValueError("a hold takes no percent_of_dose; order a reduction for that")
        return self


class HoldResolution(RequestModel):
    outcome: Literal["released", "permanent"] = Field(
        description="released: dosing resumes; permanent: no further dose is given"
    )
    reason: str = Field(min_length=3, max_length=2000)


class DoseOrderOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    kind: Literal["hold", "reduction"]
    percent_of_dose: int | None
    from_infusion: int = Field(description="The first infusion the order applies to")
    reason: str
    status: Literal["active", "released", "permanent", "superseded"]
    ordered_by: str
    ordered_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_reason: str | None
