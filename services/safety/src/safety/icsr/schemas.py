"""Response models of the ICSR API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class IcsrMessageOut(BaseModel):
    """One ICH E2B(R3) message of an adverse event; its XML is at `href`."""

    ae_id: uuid.UUID
    number: int = Field(description="1 for the AE's first message, then +1")
    kind: Literal["initial", "follow_up", "nullification"]
    safety_report_id: str = Field(description="C.1.1, the same across a case's messages")
    ae_version: int = Field(description="The AE version the message reports")
    created_at: datetime = Field(description="C.1.2: when that AE version was recorded")
    href: str
