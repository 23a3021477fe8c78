"""Request and response models of the cohorts API: enrolment, cohorts, waitlist, reservations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from doseline.http import RequestModel

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


class WaitlistCreate(RequestModel):
    subject_id: str = SUBJECT_ID


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
