"""Request and response models of the cohorts API: enrolment, cohorts, waitlist, reservations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from enrollment.cohorts.models import ReplacementSlot

SUBJECT_ID = Field(min_length=1, max_length=80, description="Study subject id")


class EnrolmentCreate(RequestModel):
    subject_id: str = SUBJECT_ID


class EnrolmentOut(BaseModel):
    subject_id: str
    trial_id: str
    cohort_number: int
    dose_level: int
    slot_number: int
    sequence: int
    protocol_version: str
    enrolled_at: datetime


class ReplacementSlotOut(BaseModel):
    """A slot the cohort gained for a subject judged not DLT-evaluable, and its fate."""

    id: uuid.UUID
    cohort_number: int
    replaced_subject_id: str
    status: str = Field(
        description=(
            "open: the subject is still judged not evaluable; withdrawn: a late fact showed"
            " otherwise while the slot was free, so the cohort lost it; flagged: a late fact"
            " showed otherwise after someone took the slot; the investigator reviews the cohort"
        )
    )
    reason: str = Field(description="Why the slot was opened")
    opened_at: datetime
    premise_failed: str | None = Field(
        description="The late fact that showed the replacement was not needed"
    )
    occupant_subject_id: str | None = Field(description="Who holds a flagged slot")
    changed_at: datetime | None

    @classmethod
    def of(cls, slot: ReplacementSlot, cohort_number: int) -> ReplacementSlotOut:
        return cls(
            id=slot.id,
            cohort_number=cohort_number,
            replaced_subject_id=slot.replaced_subject_id,
            status=slot.status,
            reason=slot.reason,
            opened_at=slot.opened_at,
            premise_failed=slot.premise_failed,
            occupant_subject_id=slot.occupant_subject_id,
            changed_at=slot.changed_at,
        )


class CohortOut(BaseModel):
    number: int
    dose_level: int
    planned_size: int
    slots: int
    enrolled: int
    reserved: int
    open_slots: int
    status: str
    opened_at: datetime
    replacement_slots: list[ReplacementSlotOut] = Field(
        description="Slots added for non-evaluable subjects, withdrawn and flagged ones included"
    )


class WaitlistCreate(RequestModel):
    subject_id: str = SUBJECT_ID


class WaitlistRemoval(RequestModel):
    reason: str = Field(
        min_length=3, max_length=2000, description="Why the subject no longer waits for a slot"
    )


class WaitlistEntryOut(BaseModel):
    subject_id: str
    position: int
    status: str
    added_at: datetime


class ReservationCreate(RequestModel):
    subject_id: str = SUBJECT_ID


class ReservationOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    cohort_number: int
    status: str
    reserved_at: datetime
    expires_at: datetime
