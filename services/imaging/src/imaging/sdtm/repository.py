"""Reads of imaging's assessments as recorded by a data cut, for the SDTM datasets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import protocol_versions
from imaging.assessments.models import AssessmentRow
from imaging.protocols.models import ProtocolVersionRow
from imaging.subjects.models import SubjectRow


def first_infusion_days(session: Session, trial_id: str) -> dict[str, date | None]:
    """Each subject's first infusion day (RFSTDTC), by study id."""
    rows = session.execute(
        select(SubjectRow.subject_id, SubjectRow.first_infusion_on).where(
            SubjectRow.trial_id == trial_id
        )
    ).all()
    return {row.subject_id: row.first_infusion_on for row in rows}


def recorded_at(
    session: Session, trial_id: str, kinds: Sequence[str], at: datetime
) -> Sequence[AssessmentRow]:
    """The trial's assessments of `kinds` recorded by `at` and not voided, oldest test first."""
    return session.scalars(
        select(AssessmentRow)
        .where(
            AssessmentRow.trial_id == trial_id,
            AssessmentRow.kind.in_(kinds),
            AssessmentRow.recorded_at <= at,
            AssessmentRow.status == "recorded",
        )
        .order_by(AssessmentRow.subject_id, AssessmentRow.performed_at, AssessmentRow.id)
    ).all()


def protocol_versions_of(session: Session, trial_id: str) -> list[ProtocolVersionRow]:
    """The trial's protocol versions received from enrollment, in activation order."""
    return protocol_versions.versions(session, ProtocolVersionRow, trial_id)
