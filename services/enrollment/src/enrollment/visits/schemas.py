"""Request and response models of the visits API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from doseline.http import RequestModel


class VisitOut(BaseModel):
    subject_id: str
    visit_id: str
    label: str
    target_on: date
    window_opens: date
    window_closes: date
    assessments: list[str]
    state: str


class VisitRecordCreate(RequestModel):
    visit_id: str = Field(min_length=1, max_length=40, description="e.g. month-1")
    visit_date: date


class VisitRecordOut(BaseModel):
    subject_id: str
    visit_id: str
    visit_date: date
    in_window: bool
    recorded_by: str
