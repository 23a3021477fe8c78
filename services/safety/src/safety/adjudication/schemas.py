"""Request and response models of DLT rule sets and DLT adjudication."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from safety.adjudication.models import (
    DltAssessmentRow,
    DltCaseRow,
    DltSignatureRow,
)


class AdjudicationIn(RequestModel):
    decision: Literal["confirm", "rule_out"]
    comment: str | None = Field(default=None, max_length=2000)


class SignatureOut(BaseModel):
    decision: str
    meaning: str
    signer: str
    signer_name: str
    signed_at: datetime
    ae_version: int
    record_sha256: str
    comment: str | None
    voided_at: datetime | None
    void_reason: str | None

    @classmethod
    def of(cls, row: DltSignatureRow) -> SignatureOut:
        return cls(
            decision=row.decision,
            meaning=row.meaning,
            signer=row.signer_subject,
            signer_name=row.signer_name,
            signed_at=row.signed_at,
            ae_version=row.ae_version,
            record_sha256=row.record_sha256,
            comment=row.comment,
            voided_at=row.voided_at,
            void_reason=row.void_reason,
        )


class DltOut(BaseModel):
    id: uuid.UUID
    ae_id: uuid.UUID
    trial_id: str
    subject_id: str
    status: Literal["suspected", "confirmed", "ruled_out", "withdrawn"]
    ae_version: int
    protocol_version: str = Field(description="Protocol version whose DLT rules raised the case")
    protocol_hash: str
    matched_rules: list[str] = Field(description="The protocol's DLT criteria met (e.g. DLT-04)")
    study_day: int
    baseline_grade: int | None
    adjudication_sequence: int
    signatures: list[SignatureOut]

    @classmethod
    def of(cls, row: DltCaseRow, signatures: list[DltSignatureRow]) -> DltOut:
        return cls(
            id=row.id,
            ae_id=row.ae_id,
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            status=row.status,
            ae_version=row.ae_version,
            protocol_version=row.protocol_version,
            protocol_hash=row.protocol_hash,
            matched_rules=list(row.matched_rules),
            study_day=row.study_day,
            baseline_grade=row.baseline_grade,
            adjudication_sequence=row.adjudication_sequence,
            signatures=[SignatureOut.of(s) for s in signatures],
        )


class DltAssessmentOut(BaseModel):
    """The DLT rules applied to one version of an AE: verdict, reasons, protocol version."""

    ae_version: int
    protocol_version: str
    protocol_hash: str
    is_suspected_dlt: bool
    study_day: int | None
    matched_rules: list[str]
    reasons: list[str]
    assessed_at: datetime

    @classmethod
    def of(cls, row: DltAssessmentRow) -> DltAssessmentOut:
        return cls(
            ae_version=row.ae_version,
            protocol_version=row.protocol_version,
            protocol_hash=row.protocol_hash,
            is_suspected_dlt=row.is_suspected_dlt,
            study_day=row.study_day,
            matched_rules=list(row.matched_rules),
            reasons=list(row.reasons),
            assessed_at=row.assessed_at,
        )
