"""Response models of subjects as imaging knows them, with their visit calendar."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class PlannedVisitOut(BaseModel):
    visit: str
    target_on: date | None = Field(description="Null for baseline (any day before day 1)")
    window_start: date | None
    window_end: date | None
    assessments: list[str] = Field(description="Kinds of recorded assessments at this visit")
    missed: bool = Field(description="The window closed with nothing recorded in it")


class SubjectOut(BaseModel):
    subject_id: str
    trial_id: str
    known_to_imaging: bool = Field(description="enrollment's 'subject enrolled' event received")
    dose_level: int | None
    cohort_number: int | None
    site_time_zone: str | None
    first_infusion_on: date | None
    last_infusion_at: datetime | None
    last_infusion_on: date | None
    calendar: list[PlannedVisitOut]
    calendar_pending_reason: str | None
