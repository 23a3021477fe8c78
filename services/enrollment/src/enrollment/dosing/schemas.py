"""Request and response models of the dosing API: weights, dose preparations, infusions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from doseline.http import RequestModel
from doseline.numbers import DecimalText


class WeightCreate(RequestModel):
    weight_kg: Decimal = Field(gt=0, max_digits=6, decimal_places=2, allow_inf_nan=False)
    measured_on: date = Field(description="Calendar day of the measurement at the site")


class WeightOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    weight_kg: DecimalText
    measured_on: date
    recorded_by: str


class PreparationCreate(RequestModel):
    infusion_number: int = Field(ge=1, le=100)
    product_lot: str = Field(min_length=1, max_length=80)
    first_infusion_on: date | None = Field(
        default=None,
        description=(
            "Planned site date of the first infusion; required when preparing infusion 1 "
            "(the weight must be measured at most 7 days before it)"
        ),
    )


class PreparationOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    infusion_number: int
    dose_level: int
    per_kg_dose: DecimalText
    weight_kg: DecimalText
    weight_measured_on: date
    dose_cells: DecimalText
    unrounded_cells: DecimalText
    capped: bool
    product_lot: str
    protocol_version: str
    prepared_by: str
    prepared_at: datetime
    verified_by: str | None
    verified_at: datetime | None


class Interruption(RequestModel):
    stopped_at: AwareDatetime
    resumed_at: AwareDatetime | None = None
    reason: str = Field(min_length=1, max_length=500)


class InfusionCreate(RequestModel):
    started_at: AwareDatetime = Field(description="Actual start, with its UTC offset")
    ended_at: AwareDatetime | None = None
    dose_given_cells: Decimal = Field(gt=0, allow_inf_nan=False)
    product_lot: str = Field(min_length=1, max_length=80)
    interruptions: list[Interruption] = Field(default_factory=list, max_length=20)
    deviation_reason: str | None = Field(
        default=None, max_length=2000, description="Why the infusion departed from the plan"
    )


class InfusionCorrection(RequestModel):
    ended_at: AwareDatetime | None = None
    product_lot: str | None = Field(default=None, min_length=1, max_length=80)
    interruptions: list[Interruption] | None = Field(default=None, max_length=20)
    deviation_reason: str | None = Field(default=None, max_length=2000)
    reason: str = Field(min_length=3, max_length=2000, description="Reason for the correction")


class InfusionOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    infusion_number: int
    started_at: datetime | None
    ended_at: datetime | None
    site_date: date | None
    planned_on: date | None
    timing: str
    dose_given_cells: DecimalText | None
    product_lot: str | None
    interruptions: list[Interruption]
    deviation: str | None
    deviation_reason: str | None
    recorded_by: str


class PlannedInfusionOut(BaseModel):
    number: int
    study_day: int
    planned_on: date
    window_opens: date
    window_closes: date
    state: str


class InfusionPlanOut(BaseModel):
    subject_id: str
    first_infusion_on: date | None
    dlt_window_start: date | None
    dlt_window_end: date | None
    dlt_window_status: str | None = Field(
        description="open, or closed once the site's date is past its last day"
    )
    dlt_evaluable: bool | None = Field(
        description="DLT-evaluability decided when the window closed (and re-assessed when a"
        " fact arrives late); null while the window is open"
    )
    dlt_evaluability_reason: str | None
    infusions: list[PlannedInfusionOut]
    recorded: list[InfusionOut]
