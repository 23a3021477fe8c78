"""Request and response models of the subjects API (no hospital identifier is ever returned)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from doseline.contracts.enrollment import WithdrawalReason
from doseline.http import RequestModel


class HospitalIdentifier(RequestModel):
    system: str = Field(
        default="MRN",
        min_length=1,
        max_length=200,
        description="The identifier system: a name or alias the subject's site declares",
    )
    value: str = Field(min_length=1, max_length=120)


class SubjectCreate(RequestModel):
    site_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description=(
            "The site the subject belongs to, one of the protocol's `sites` and of your token's;"
            " the protocol's first (default) site when left out"
        ),
    )
    hospital_identifier: HospitalIdentifier = Field(
        description=(
            "The hospital's identifier (MRN), required: a subject is registered as a person the"
            " hospital knows. Its system is one the subject's site declares in the protocol"
            " (`sites[].identifier_systems`, an alias names the same system). Kept only as a"
            " keyed hash to detect a second registration of the same person and to match"
            " hospital records; never stored in clear, returned or published."
        ),
    )


class ConsentUpdate(RequestModel):
    consent_signed_on: date = Field(description="Calendar day the consent form was signed")
    reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=2000,
        description="Reason for change; required when correcting a recorded date",
    )


class SubjectOut(BaseModel):
    id: str
    trial_id: str
    site_id: str
    number: int
    status: str
    consent_signed_on: date | None
    registered_at: datetime


class WithdrawalCreate(RequestModel):
    reason: WithdrawalReason = Field(
        description=(
            "Why the subject leaves the study; an investigator records any reason, a"
            " coordinator only lost_to_follow_up"
        )
    )
    effective_on: date = Field(
        description="Site calendar day the withdrawal takes effect: not after today at the site"
    )
    details: str = Field(min_length=3, max_length=4000, description="What happened, for the record")
    safety_follow_up: bool = Field(
        description=(
            "The consent allows continued safety follow-up: the follow-up visits after"
            " effective_on are kept; false for death"
        )
    )


class WithdrawalOut(BaseModel):
    subject_id: str
    status: str
    reason: str
    effective_on: date
    details: str
    safety_follow_up: bool
    recorded_by: str
    recorded_at: datetime
    cancelled_preparations: list[int] = Field(
        description="Infusion numbers whose prepared doses were cancelled"
    )
    dlt_evaluability: Literal["evaluable", "not-evaluable", "pending"]
    dlt_evaluability_reason: str
    replacement_slot_opened: bool
