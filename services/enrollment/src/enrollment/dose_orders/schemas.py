"""Request and response models of dose orders: a hold or a reduction, and a hold's outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from doseline.http import RequestModel


class HoldOrder(RequestModel):
    kind: Literal["hold"]
    reason: str = Field(min_length=3, max_length=2000, description="Why the dose is held")


class ReductionOrder(RequestModel):
    kind: Literal["reduction"]
    percent_of_dose: int = Field(
        ge=1,
        le=99,
        description=(
            "Every later dose at this % of the assigned level's dose for the weight; a later"
            " reduction may only lower it"
        ),
    )
    reason: str = Field(min_length=3, max_length=2000, description="Why the dose is reduced")


DoseOrderCreate = Annotated[HoldOrder | ReductionOrder, Field(discriminator="kind")]


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
