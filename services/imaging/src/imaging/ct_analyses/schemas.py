"""Query parameters and response models of CT segmentation uploads and their analyses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from imaging.assessments.schemas import AssessmentOut
from imaging.ct_analyses.models import CtAnalysisRow

FileFormat = Literal["nifti", "dicom-seg"]
LesionOutsideLungPolicy = Literal["count_as_lung", "exclude", "reject"]
Status = Literal["queued", "processing", "done", "failed"]


class CtAnalysisOut(BaseModel):
    id: uuid.UUID
    subject_id: str
    trial_id: str
    performed_at: datetime
    file_format: FileFormat
    size_bytes: int
    sha256: str
    parameters: dict[str, Any]
    status: Status = Field(description="queued → processing → done or failed")
    error: str | None = Field(description="Why the file could not be measured, when failed")
    attempts: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    processing_seconds: float | None
    assessment: AssessmentOut | None = Field(description="The CT assessment, when done")

    @classmethod
    def of(cls, row: CtAnalysisRow, assessment: AssessmentOut | None) -> CtAnalysisOut:
        return cls(
            id=row.id,
            subject_id=row.subject_id,
            trial_id=row.trial_id,
            performed_at=row.performed_at,
            file_format=row.file_format,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            parameters=row.parameters,
            status=row.status,
            error=row.error,
            attempts=row.attempts,
            created_by=row.created_by,
            created_at=row.created_at,
            finished_at=row.finished_at,
            processing_seconds=row.processing_seconds,
            assessment=assessment,
        )
