"""ORM rows of subjects as safety knows them from enrollment's events, with their baseline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from doseline.subject_projection import HospitalIdHash, SubjectProjection
from safety.db import Base


class SubjectRow(SubjectProjection, Base):
    """A subject by study id (`doseline.subject_projection`), with its baseline conditions."""

    __tablename__ = "subjects"

    # Subjects of HDMSC-RP-01 start with radiation pneumonitis: DLT rules compare to these.
    baseline_pneumonitis_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline_oxygen_use: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    baseline_conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (a class-level directive)
        return {"version_id_col": cls.__table__.c.version}


class SubjectHospitalIdRow(HospitalIdHash, Base):
    """A keyed hash of one hospital identifier of a subject, for matching EHR records."""

    __tablename__ = "subject_hospital_ids"

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.subject_id", ondelete="CASCADE"), index=True
    )
