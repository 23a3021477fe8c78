"""Request and response models of a trial's visit schedule and reference equations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from imaging.schedule.models import TrialSettingsRow


class FollowUpVisitIn(RequestModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["month_1"])
    months_after_last_infusion: int = Field(ge=1, le=120)
    window_days: int = Field(ge=0, le=180, description="± days around the target day")


class VisitScheduleIn(RequestModel):
    """The follow-up visits (baseline, before day 1, is implicit) and the trial's equations."""

    follow_up: list[FollowUpVisitIn] = Field(min_length=1, max_length=30)
    spirometry_equation: Literal["GLI Global 2022", "GLI-2012"] = "GLI Global 2022"
    gli_2012_ethnicity: (
        Literal[
            "CAUCASIAN",
            "AFRICAN_AMERICAN",
            "NORTH_EAST_ASIAN",
            "SOUTH_EAST_ASIAN",
            "OTHER_OR_MIXED",
        ]
        | None
    ) = None
    walk_equation: Literal["enright_sherrill_1998", "enright_sherrill_1998_bmi"] = (
        "enright_sherrill_1998"
    )
    reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=2000,
        description="Reason for change; required when the trial already has a schedule",
    )


class VisitScheduleOut(BaseModel):
    trial_id: str
    follow_up: list[FollowUpVisitIn]
    spirometry_equation: str
    gli_2012_ethnicity: str | None
    transfer_factor_equation: str = "GLI-2017 TLCO"
    walk_equation: str
    version: int

    @classmethod
    def of(cls, row: TrialSettingsRow) -> VisitScheduleOut:
        return cls(
            trial_id=row.trial_id,
            follow_up=[FollowUpVisitIn.model_validate(item) for item in row.visit_schedule],
            spirometry_equation=row.spirometry_equation,
            gli_2012_ethnicity=row.gli_2012_ethnicity,
            walk_equation=row.walk_equation,
            version=row.version,
        )
