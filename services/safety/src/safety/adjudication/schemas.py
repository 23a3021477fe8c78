"""Request and response models of DLT rule sets and DLT adjudication."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from safety.adjudication.models import (
    DltAssessmentRow,
    DltCaseRow,
    DltRuleSetRow,
    DltSignatureRow,
)


class DltRulesIn(RequestModel):
    rules: dict[str, Any] = Field(description="The trial's DLT rule configuration")
    reason: str = Field(min_length=3, max_length=2000, description="Why the rules change")


class DltRulesOut(BaseModel):
    trial_id: str
    number: int = Field(description="Rule-set version; every assessment records it")
    rules: dict[str, Any]
    created_at: datetime
    created_by: str
    reason: str

    @classmethod
    def of(cls, row: DltRuleSetRow) -> DltRulesOut:
        return cls(
            trial_id=row.trial_id,
            number=row.number,
            rules=row.rules,
            created_at=row.created_at,
            created_by=row.created_by,
            reason=row.reason,
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
    rule_set_number: int
    matched_rules: list[str]
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
            rule_set_number=row.rule_set_number,
            matched_rules=list(row.matched_rules),
            study_day=row.study_day,
            baseline_grade=row.baseline_grade,
            adjudication_sequence=row.adjudication_sequence,
            signatures=[SignatureOut.of(s) for s in signatures],
        )


class DltAssessmentOut(BaseModel):
    """The DLT rules applied to one version of an AE: verdict, reasons, rule-set version."""

    ae_version: int
    rule_set_number: int
    is_suspected_dlt: bool
    study_day: int | None
    matched_rules: list[str]
    reasons: list[str]
    assessed_at: datetime

    @classmethod
    def of(cls, row: DltAssessmentRow) -> DltAssessmentOut:
        return cls(
            ae_version=row.ae_version,
            rule_set_number=row.rule_set_number,
            is_suspected_dlt=row.is_suspected_dlt,
            study_day=row.study_day,
            matched_rules=list(row.matched_rules),
            reasons=list(row.reasons),
            assessed_at=row.assessed_at,
        )
