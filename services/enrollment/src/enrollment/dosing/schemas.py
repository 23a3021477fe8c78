"""Request and response models of the dosing API: weights, dose preparations, infusions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from doseline.http import RequestModel, exactly_one_of
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
    volume_ml: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=8,
        decimal_places=2,
        allow_inf_nan=False,
        description="Volume of the prepared infusion, mL (an interrupted infusion gives part)",
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
    full_dose_cells: DecimalText = Field(description="The whole dose of the level, cells")
    percent_of_dose: int = Field(description="100, or the investigator's reduction")
    dose_order_id: uuid.UUID | None = Field(description="The reduction this dose follows")
    series_weight_kg: DecimalText | None = Field(
        description="Set when a weight measured again re-dosed it: the series' first weight"
    )
    series_weight_measured_on: date | None
    dose_basis: str | None = Field(
        description="Which weight doses this infusion and the protocol rule that chose it"
    )
    volume_ml: DecimalText | None
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
    """An infusion given: its dose in cells, or (interrupted) the volume given of the volume
    prepared, from which the dose given follows."""

    model_config = ConfigDict(
        json_schema_extra=exactly_one_of(("dose_given_cells",), ("volume_given_ml",))
    )

    started_at: AwareDatetime = Field(description="Actual start, with its UTC offset")
    ended_at: AwareDatetime | None = None
    dose_given_cells: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    volume_given_ml: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=8,
        decimal_places=2,
        allow_inf_nan=False,
        description=(
            "Volume actually given, mL, of the volume the preparation records; less than it"
            " for an infusion interrupted short. The dose given follows from it"
        ),
    )
    product_lot: str = Field(min_length=1, max_length=80)
    interruptions: list[Interruption] = Field(default_factory=list, max_length=20)
    deviation_reason: str | None = Field(
        default=None, max_length=2000, description="Why the infusion departed from the plan"
    )

    @model_validator(mode="after")
    def _dose_or_volume(self) -> InfusionCreate:
        if (self.dose_given_cells is None) == (self.volume_given_ml is None):
            raise ValueError(
                "give exactly one of dose_given_cells and volume_given_ml (the volume given of"
                " the volume prepared, for an infusion interrupted short)"
            )
        return self


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
    dose_given_per_kg: DecimalText | None
    volume_given_ml: DecimalText | None
    volume_prepared_ml: DecimalText | None
    interrupted: bool = Field(description="Stopped before the whole prepared volume was given")
    full_dose: bool = Field(description="The whole dose of the subject's level was given")
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
