"""Request and response models of the subjects API (as safety knows them)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from safety.subjects.models import SubjectRow


class BaselineConditionIn(RequestModel):
    ctcae_version: str = Field(default="5.0", pattern=r"^\d+\.\d+$")
    term_code: str = Field(pattern=r"^\d{8}$", description="MedDRA code of the CTCAE term")
    grade: int = Field(ge=1, le=4, description="Grade of the pre-existing condition at baseline")


class BaselineIn(RequestModel):
    pneumonitis_grade: int | None = Field(
        ge=0, le=4, description="Radiation pneumonitis grade before the first infusion (0 = none)"
    )
    oxygen_use: bool | None = Field(description="Supplemental oxygen at baseline")
    conditions: list[BaselineConditionIn] = Field(default_factory=list, max_length=100)
    reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=2000,
        description="Reason for change; required when a baseline was already recorded",
    )


class BaselineConditionOut(BaseModel):
    ctcae_version: str
    term_code: str
    term: str
    grade: int


class SubjectOut(BaseModel):
    subject_id: str
    trial_id: str
    site_id: str
    known_to_safety: bool = Field(description="enrollment's 'subject enrolled' event received")
    cohort_number: int | None
    dose_level: int | None
    enrolled_at: datetime | None
    site_time_zone: str | None
    first_infusion_on: date | None
    dlt_window_start: date | None
    dlt_window_end: date | None
    baseline_pneumonitis_grade: int | None
    baseline_oxygen_use: bool | None
    baseline_conditions: list[BaselineConditionOut]

    @classmethod
    def of(cls, row: SubjectRow) -> SubjectOut:
        return cls(
            subject_id=row.subject_id,
            trial_id=row.trial_id,
            site_id=row.site_id,
            known_to_safety=row.enrolled_at is not None,
            cohort_number=row.cohort_number,
            dose_level=row.dose_level,
            enrolled_at=row.enrolled_at,
            site_time_zone=row.site_time_zone,
            first_infusion_on=row.first_infusion_on,
            dlt_window_start=row.dlt_window_start,
            dlt_window_end=row.dlt_window_end,
            baseline_pneumonitis_grade=row.baseline_pneumonitis_grade,
            baseline_oxygen_use=row.baseline_oxygen_use,
            baseline_conditions=[
                BaselineConditionOut.model_validate(c) for c in row.baseline_conditions
            ],
        )
