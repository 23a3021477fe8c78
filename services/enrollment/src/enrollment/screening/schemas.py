"""Request and response models of the screening API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from doseline.http import RequestModel
from doseline.numbers import DecimalText


class AnswerIn(RequestModel):
    """The answer to one criterion, with the evidence the criterion asks for."""

    value: StrictBool | Decimal = Field(description="true/false, or a number for number criteria")
    evidence_date: date | None = Field(
        default=None, description="e.g. the date of the diagnostic chest CT"
    )
    evidence_grade: int | None = Field(
        default=None, description="e.g. the baseline Pneumonitis CTCAE v5.0 grade"
    )


class SubjectFactsIn(RequestModel):
    """Facts about the person the outcome reference equations need (GLI, Enright-Sherrill).

    Recorded once here, they reach imaging with the enrolment, so that lung function and walk
    test results need not repeat them."""

    sex: Literal["female", "male"] | None = Field(default=None, description="Sex assigned at birth")
    birth_date: date | None = Field(default=None, description="The subject's date of birth")
    height_cm: Decimal | None = Field(
        default=None, gt=0, le=300, decimal_places=1, description="Standing height, cm"
    )


class ScreeningCreate(RequestModel):
    screened_on: date = Field(description="Calendar day of the screening at the site")
    answers: dict[str, AnswerIn] = Field(
        description="Every criterion of the protocol, keyed by criterion id (INC-01, EXC-01, ...)"
    )
    subject_facts: SubjectFactsIn = Field(
        default_factory=SubjectFactsIn,
        description="Sex, birth date and height, carried to imaging with the enrolment",
    )


class SubjectFactsOut(BaseModel):
    sex: Literal["female", "male"] | None
    birth_date: date | None
    height_cm: DecimalText | None


class ScreeningOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    screened_on: date
    status: Literal["eligible", "ineligible", "incomplete"]
    eligible: bool
    reasons: list[str]
    subject_facts: SubjectFactsOut
    protocol_version: str
    protocol_hash: str
    recorded_by: str
    recorded_at: datetime
    signed_off_by: str | None
    signed_off_at: datetime | None
