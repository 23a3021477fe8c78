"""Response models of protocol deviations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class DeviationOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    kind: Literal["missed-infusion", "infusion-outside-window", "partial-dose"]
    infusion_number: int
    planned_on: date = Field(description="Planned site calendar day of the infusion")
    window_opens: date
    window_closes: date
    occurred_at: datetime | None = Field(description="When it was given; null when missed")
    site_date: date | None
    infusion_id: uuid.UUID | None
    description: str
    recorded_by: str
    recorded_at: datetime
