"""Request and response models of the adverse-event API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from doseline.http import RequestModel
from safety.grading_assistance.schemas import LabGradeIn

Attribution = Literal["unrelated", "unlikely", "possible", "probable", "definite"]
# ICH E2A seriousness criteria.
SeriousnessCriterion = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
]
# CDISC SDTM AEACN and AEOUT controlled terminology, lower-cased.
ActionTaken = Literal[
    "dose_not_changed",
    "dose_reduced",
    "drug_interrupted",
    "drug_withdrawn",
    "not_applicable",
    "unknown",
]
Outcome = Literal[
    "recovered_resolved",
    "recovering_resolving",
    "not_recovered_not_resolved",
    "recovered_resolved_with_sequelae",
    "fatal",
    "unknown",
]


class AdverseEventContent(RequestModel):
    """What an investigator or coordinator reports about an adverse event."""

    ctcae_version: str = Field(default="5.0", pattern=r"^\d+\.\d+$")
    term_code: str = Field(pattern=r"^\d{8}$", description="MedDRA code of the CTCAE term")
    verbatim: str = Field(
        min_length=1, max_length=2000, description="The event in the site's words"
    )
    specification: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Required for 'Other, specify' terms: the event's name",
    )
    onset_date: date = Field(description="Calendar date at the site")
    resolution_date: date | None = None
    grade: int = Field(ge=1, le=5, description="The investigator's CTCAE grade")
    seriousness: list[SeriousnessCriterion] = Field(default_factory=list, max_length=6)
    aware_at: AwareDatetime | None = Field(
        default=None,
        description="When the site became aware of the serious event (starts the 24-hour clock)",
    )
    attribution: Attribution
    expected: bool | None = Field(
        default=None, description="Expected per the reference safety information"
    )
    action_taken: ActionTaken
    outcome: Outcome
    clinical_answers: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Answers to the term's grading form (GET /v1/grading/clinical); the grade they "
            "propose is stored beside yours, and overlapping reaction terms are flagged"
        ),
    )
    lab: LabGradeIn | None = Field(
        default=None,
        description=(
            "The lab value the event is about, with the clinical facts its criterion reads (as "
            "POST /v1/grading/lab takes them); the grade it proposes is stored beside yours"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> AdverseEventContent:
        if self.resolution_date is not None and self.resolution_date < self.onset_date:
            raise ValueError("resolution_date is before onset_date")
        if len(set(self.seriousness)) != len(self.seriousness):
            raise ValueError("seriousness lists a criterion twice")
        if self.seriousness and self.aware_at is None:
            raise ValueError(
                "a serious adverse event needs aware_at: when the site became aware of it"
            )
        if "death" in self.seriousness and self.outcome != "fatal":
            raise ValueError("seriousness 'death' needs outcome 'fatal'")
        if self.clinical_answers is not None and self.lab is not None:
            raise ValueError("give clinical_answers or a lab value, not both")
        return self


class AdverseEventIn(AdverseEventContent):
    subject_id: str = Field(min_length=1, max_length=80, description="Study id of the subject")


class AdverseEventFollowUp(AdverseEventContent):
    reason_for_change: str = Field(min_length=3, max_length=2000)


class SponsorReportIn(RequestModel):
    reported_at: AwareDatetime = Field(description="When the report reached the sponsor")


class AdverseEventVersionOut(BaseModel):
    number: int
    ctcae_version: str
    term_code: str
    term: str
    verbatim: str
    specification: str | None
    onset_date: date
    resolution_date: date | None
    grade: int
    proposed_grade: int | None
    proposed_grade_reason: str | None
    grading_basis: dict[str, Any] | None
    seriousness: list[str]
    attribution: str
    expected: bool | None
    action_taken: str
    outcome: str
    reason_for_change: str | None
    recorded_at: datetime
    recorded_by: str


class SaeClockOut(BaseModel):
    aware_at: datetime
    due_at: datetime
    reported_to_sponsor_at: datetime | None
    status: Literal["running", "reported", "overdue", "reported_late"]


class AdverseEventOut(BaseModel):
    id: uuid.UUID
    trial_id: str
    subject_id: str
    source: str
    serious: bool
    dlt_evaluation: str
    sae_clock: SaeClockOut | None
    current: AdverseEventVersionOut
    versions: list[AdverseEventVersionOut] | None = None


class GradeDisagreementOut(BaseModel):
    ae_id: uuid.UUID
    subject_id: str
    ae_version: int
    term: str
    grade: int
    proposed_grade: int
    proposed_grade_reason: str | None


class AuditEntryOut(BaseModel):
    """One entry of the audit trail: who did what, when, why, with the values before and after."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
