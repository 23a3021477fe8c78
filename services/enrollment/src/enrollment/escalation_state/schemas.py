"""Request and response models of the escalation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from doseline.http import RequestModel
from doseline.numbers import DecimalText
from enrollment.cohorts.schemas import ReplacementSlotOut


class DoseLevelState(BaseModel):
    dose_level: int
    per_kg: DecimalText
    patients: int = Field(description="Subjects enrolled at this level")
    evaluable_patients: int = Field(description="DLT-evaluable so far (window done, or a DLT)")
    dlts: int = Field(description="Subjects with a confirmed DLT")
    open_slots: int


class Recommendation(BaseModel):
    continue_trial: bool
    next_dose: int | None
    mtd: int | None
    reason: str


class SignatureOut(BaseModel):
    role: str
    signer: str
    signer_name: str
    meaning: str
    state_hash: str
    authenticated_at: datetime
    signed_at: datetime


class DecisionOut(BaseModel):
    id: uuid.UUID
    cohort_number: int
    outcomes: str
    outcome: str
    continue_trial: bool
    next_dose: int | None
    next_cohort_size: int | None
    mtd: int | None
    reason: str
    state_hash: str
    protocol_version: str
    protocol_hash: str
    status: str
    decided_at: datetime | None
    next_cohort_opened: bool
    signatures: list[SignatureOut]
    missing_signatures: list[str]


class LateDltResolutionOut(BaseModel):
    id: uuid.UUID
    dlt_id: str
    subject_id: str
    cohort_number: int = Field(description="The cohort of the subject with the DLT")
    decision_id: uuid.UUID = Field(description="The signed decision the DLT arrived after")
    decision_cohort_number: int
    last_cohort_number: int = Field(description="The latest cohort when it was proposed")
    outcome: Literal["decision_stands", "decision_revised", "cohort_expanded"]
    reason: str
    continue_trial: bool | None
    next_dose: int | None
    next_cohort_size: int | None
    mtd: int | None
    revised_decision_id: uuid.UUID | None
    expanded_cohort_number: int | None
    added_subjects: int | None
    opened_cohort_number: int | None
    state_hash: str
    status: Literal["pending", "resolved", "superseded"]
    proposed_at: datetime
    resolved_at: datetime | None
    signatures: list[SignatureOut]
    missing_signatures: list[str]


class LateDltOut(BaseModel):
    dlt_id: str
    subject_id: str
    cohort_number: int = Field(description="The cohort of the subject with the DLT")
    grade: int
    adjudicated_at: datetime
    received_at: datetime
    contradicts_decision_id: uuid.UUID = Field(
        description="The signed decision, acted on, that was made without this DLT"
    )
    contradicts_decision_cohort_number: int
    contradicts_decision_outcome: str
    pending_resolution: LateDltResolutionOut | None = Field(
        description="A resolution awaiting its second signature, if one was proposed"
    )


class EscalationStateOut(BaseModel):
    trial_id: str
    trial_status: str
    mtd: int | None
    outcomes: str = Field(description="Outcome string of the complete cohorts, e.g. '1NNN 2TNN'")
    state_hash: str
    protocol_version: str
    protocol_hash: str
    dose_levels: list[DoseLevelState]
    recommendation: Recommendation
    pending_decision: DecisionOut | None
    unmatched_dlt_events: int = Field(
        description="DLT adjudications for subject ids this trial has not enrolled (kept)"
    )
    replacement_slots_to_review: list[ReplacementSlotOut] = Field(
        description=(
            "Replacement slots taken by a subject before a late fact showed the replaced"
            " subject was evaluable after all: the cohort has more subjects than the design"
            " asked for, so no decision is recommended for it until the investigator reviews it"
        )
    )
    late_dlts_to_resolve: list[LateDltOut] = Field(
        description=(
            "DLTs confirmed after the decision on their cohort was signed and the next cohort"
            " opened: the investigator and the safety physician record how they resolve each"
            " (POST .../escalation/late-dlt-resolutions)"
        )
    )


class ResolutionRef(BaseModel):
    id: uuid.UUID
    dlt_id: str
    outcome: str


class HistoryEntryOut(BaseModel):
    seq: int
    outcomes: str
    complete_cohorts: int
    continue_trial: bool
    next_dose: int | None
    mtd: int | None
    reason: str
    protocol_version: str
    protocol_hash: str
    state_hash: str
    cause: str
    recorded_at: datetime
    late_dlt_resolutions: list[ResolutionRef] = Field(
        description="The resolved late DLTs this state's history rests on (ADR 0017)"
    )


class SignatureCreate(RequestModel):
    role: Literal["investigator", "safety_physician"]
    meaning: str = Field(
        min_length=3,
        max_length=500,
        description="What the signature means (21 CFR 11.50), e.g. 'approve escalation to level 2'",
    )
    state_hash: str = Field(
        min_length=64, max_length=64, description="The state hash you reviewed and sign"
    )


class RevisedDecisionIn(RequestModel):
    continue_trial: bool = Field(description="False: the trial stops, declaring `mtd`")
    next_dose: int | None = Field(default=None, ge=1, description="Level of the next cohort")
    next_cohort_size: int | None = Field(default=None, ge=1, le=12)
    mtd: int | None = Field(default=None, ge=1, description="With a stop: the MTD, or none")

    @model_validator(mode="after")
    def _consistent(self) -> RevisedDecisionIn:
        if self.continue_trial and (self.next_dose is None or self.next_cohort_size is None):
            raise ValueError(
                "a revised decision that continues the trial needs next_dose and next_cohort_size"
            )
        if self.continue_trial and self.mtd is not None:
            raise ValueError("an MTD is declared only by a decision that stops the trial")
        if not self.continue_trial and (
            self.next_dose is not None or self.next_cohort_size is not None
        ):
            raise ValueError("a revised decision that stops the trial has no next cohort")
        return self


class ExpansionIn(RequestModel):
    cohort_number: int = Field(
        ge=1, description="The cohort whose dose level the added subjects receive"
    )
    subjects: int = Field(ge=1, le=12, description="How many subjects are added")


class LateDltResolutionCreate(RequestModel):
    dlt_id: str = Field(min_length=1, max_length=80, description="The late DLT resolved")
    outcome: Literal["decision_stands", "decision_revised", "cohort_expanded"]
    reason: str = Field(min_length=3, max_length=2000, description="Why, in words")
    revised_decision: RevisedDecisionIn | None = Field(
        default=None, description="Required for decision_revised (and only then)"
    )
    expansion: ExpansionIn | None = Field(
        default=None, description="Required for cohort_expanded (and only then)"
    )
    role: Literal["investigator", "safety_physician"] = Field(description="The role you sign as")
    meaning: str = Field(
        min_length=3,
        max_length=500,
        description="What the signature means (21 CFR 11.50), e.g. 'the escalation stands'",
    )
    state_hash: str = Field(
        min_length=64, max_length=64, description="The state hash you reviewed and sign"
    )

    @model_validator(mode="after")
    def _details_match_outcome(self) -> LateDltResolutionCreate:
        if (self.outcome == "decision_revised") != (self.revised_decision is not None):
            raise ValueError(
                "revised_decision is given with outcome decision_revised, and only then"
            )
        if (self.outcome == "cohort_expanded") != (self.expansion is not None):
            raise ValueError("expansion is given with outcome cohort_expanded, and only then")
        return self
