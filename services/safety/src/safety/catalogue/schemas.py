"""Request and response models of the CTCAE dictionary API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from safety.catalogue.models import CtcaeTermRow, CtcaeVersionRow


class CtcaeVersionOut(BaseModel):
    version: str
    source_file: str
    source_sha256: str
    term_count: int
    soc_count: int
    imported_at: datetime

    @classmethod
    def of(cls, row: CtcaeVersionRow) -> CtcaeVersionOut:
        return cls(
            version=row.version,
            source_file=row.source_file,
            source_sha256=row.source_sha256,
            term_count=row.term_count,
            soc_count=row.soc_count,
            imported_at=row.imported_at,
        )


class GradeOut(BaseModel):
    grade: int
    selectable: bool = Field(description="False where NCI wrote '-': the grade does not exist")
    text: str | None


class CtcaeTermOut(BaseModel):
    ctcae_version: str
    meddra_code: str
    term: str
    soc: str
    soc_code: str | None
    definition: str | None
    navigational_note: str | None
    requires_specification: bool = Field(description="'Other, specify' terms need the event named")
    defined_grades: list[int]
    grades: list[GradeOut]

    @classmethod
    def of(cls, row: CtcaeTermRow) -> CtcaeTermOut:
        return cls(
            ctcae_version=row.ctcae_version,
            meddra_code=row.meddra_code,
            term=row.name,
            soc=row.soc_name,
            soc_code=row.soc_code,
            definition=row.definition,
            navigational_note=row.navigational_note,
            requires_specification=row.is_other_specify,
            defined_grades=list(row.defined_grades),
            grades=[
                GradeOut(grade=g, selectable=text is not None, text=text)
                for g, text in enumerate(row.grade_texts(), start=1)
            ],
        )


class ImportResult(BaseModel):
    version: str
    status: Literal["imported", "unchanged", "replaced"]
    term_count: int
    soc_count: int
    source_sha256: str
