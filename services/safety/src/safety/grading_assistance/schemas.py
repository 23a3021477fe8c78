"""Request and response models of grading assistance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from doseline.http import RequestModel


class QuestionOut(BaseModel):
    id: str
    text: str
    answer_type: str
    choices: list[str]
    unit: str | None


class ClinicalFormOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    questions: list[QuestionOut]


class ClinicalAnswersIn(RequestModel):
    answers: dict[str, Any] = Field(description="Question id → answer; leave out what is unknown")


class OverlapCandidateOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    why: str


class OverlapOut(BaseModel):
    message: str
    candidates: list[OverlapCandidateOut]


class ClinicalGradeOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    ctcae_version: str
    grade: int | None = Field(description="None while unanswered questions leave it open")
    reason: str
    decided_by: list[str]
    possible_grades: list[int]
    missing: list[str]
    overlap: OverlapOut | None = Field(
        description="The answers fit several reaction terms: the investigator chooses"
    )


class LabGradeIn(RequestModel):
    term: str = Field(min_length=1, max_length=120, description="Lab term, e.g. anemia")
    value: Decimal = Field(max_digits=18)
    unit: str = Field(min_length=1, max_length=40)
    lln: Decimal | None = Field(default=None, max_digits=18)
    uln: Decimal | None = Field(default=None, max_digits=18)
    baseline: Decimal | None = Field(default=None, max_digits=18)
    baseline_normal: bool | None = None


class LabGradeOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    ctcae_version: str
    grade: int | None
    reason: str
    assumptions: list[str]
    missing: list[str]
    possible_grades: list[int]
