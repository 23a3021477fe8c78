"""Request and response models of the escalation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
