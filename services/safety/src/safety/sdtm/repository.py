"""Reads of safety's data as it stood at a data cut, for the SDTM datasets."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from safety.adjudication.models import DltAssessmentRow, DltSignatureRow
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.catalogue.models import CtcaeTermRow
from safety.ehr.models import LabObservationRow
from safety.subjects.models import SubjectRow


def first_infusion_days(session: Session, trial_id: str) -> dict[str, date | None]:
    """Each subject's first infusion day (RFSTDTC), by study id."""
    rows = session.execute(
        select(SubjectRow.subject_id, SubjectRow.first_infusion_on).where(
            SubjectRow.trial_id == trial_id
        )
    ).all()
    return {row.subject_id: row.first_infusion_on for row in rows}


def adverse_events_at(
    session: Session, trial_id: str, at: datetime
) -> Sequence[tuple[AdverseEventRow, AdverseEventVersionRow]]:
    """Each adverse event reported by `at` with its latest version recorded by then."""
    latest = (
        select(
            AdverseEventVersionRow.ae_id,
            func.max(AdverseEventVersionRow.number).label("number"),
        )
        .where(AdverseEventVersionRow.recorded_at <= at)
        .group_by(AdverseEventVersionRow.ae_id)
        .subquery()
    )
    rows = session.execute(
        select(AdverseEventRow, AdverseEventVersionRow)
        .join(latest, latest.c.ae_id == AdverseEventRow.id)
        .join(
            AdverseEventVersionRow,
            and_(
                AdverseEventVersionRow.ae_id == latest.c.ae_id,
                AdverseEventVersionRow.number == latest.c.number,
            ),
        )
        .where(AdverseEventRow.trial_id == trial_id, AdverseEventRow.created_at <= at)
        .order_by(AdverseEventRow.created_at, AdverseEventRow.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def terms(
    session: Session, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], CtcaeTermRow]:
    """The CTCAE terms by (CTCAE version, MedDRA code), in one query."""
    if not keys:
        return {}
    found = session.scalars(
        select(CtcaeTermRow).where(
            tuple_(CtcaeTermRow.ctcae_version, CtcaeTermRow.meddra_code).in_(sorted(keys))
        )
    ).all()
    return {(term.ctcae_version, term.meddra_code): term for term in found}


def dlt_assessments_at(
    session: Session, ae_ids: Collection[uuid.UUID], at: datetime
) -> dict[tuple[uuid.UUID, int], DltAssessmentRow]:
    """The latest DLT assessment made by `at` of each adverse event version."""
    if not ae_ids:
        return {}
    found = session.scalars(
        select(DltAssessmentRow)
        .where(DltAssessmentRow.ae_id.in_(sorted(ae_ids)), DltAssessmentRow.assessed_at <= at)
        .order_by(DltAssessmentRow.assessed_at, DltAssessmentRow.id)
    ).all()
    return {(row.ae_id, row.ae_version): row for row in found}


def signatures_at(
    session: Session, ae_ids: Collection[uuid.UUID], at: datetime
) -> Sequence[DltSignatureRow]:
    """The DLT signatures given by `at` and not voided by then, oldest first."""
    if not ae_ids:
        return []
    return session.scalars(
        select(DltSignatureRow)
        .where(
            DltSignatureRow.ae_id.in_(sorted(ae_ids)),
            DltSignatureRow.signed_at <= at,
            or_(DltSignatureRow.voided_at.is_(None), DltSignatureRow.voided_at > at),
        )
        .order_by(DltSignatureRow.signed_at, DltSignatureRow.id)
    ).all()


def lab_results_at(
    session: Session, trial_id: str, at: datetime
) -> Sequence[tuple[LabObservationRow, str]]:
    """Each lab Observation of the trial's subjects as last received by `at`, with its trial."""
    latest = (
        select(
            LabObservationRow.id,
            func.row_number()
            .over(
                partition_by=(LabObservationRow.source, LabObservationRow.observation_id),
                order_by=(LabObservationRow.received_at.desc(), LabObservationRow.id.desc()),
            )
            .label("rank"),
        )
        .where(LabObservationRow.received_at <= at)
        .subquery()
    )
    rows = session.execute(
        select(LabObservationRow, SubjectRow.trial_id)
        .join(latest, and_(latest.c.id == LabObservationRow.id, latest.c.rank == 1))
        .join(SubjectRow, SubjectRow.subject_id == LabObservationRow.subject_id)
        .where(SubjectRow.trial_id == trial_id)
        .order_by(LabObservationRow.subject_id, LabObservationRow.effective_on)
    ).all()
    return [(row[0], row[1]) for row in rows]
