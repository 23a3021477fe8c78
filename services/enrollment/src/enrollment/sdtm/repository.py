"""Queries of everything enrollment's SDTM domains show: the trial's rows as they stood at the
data cut (each row recorded at or before it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.cohorts.models import Enrolment
from enrollment.dosing.models import DosePreparation, Infusion, WeightMeasurement
from enrollment.screening.models import Screening
from enrollment.subjects.models import Subject, SubjectWithdrawal
from enrollment.trials.models import ProtocolVersionRow, Trial
from enrollment.visits.models import VisitRecord


@dataclass(frozen=True)
class TrialRows:
    """One trial's subjects and what was recorded about them, at the data cut."""

    subjects: list[Subject]
    screenings: list[Screening]
    enrolments: list[Enrolment]
    infusions: list[Infusion]
    preparations: dict[uuid.UUID, DosePreparation]
    weights: list[WeightMeasurement]
    visits: list[VisitRecord]
    withdrawals: list[SubjectWithdrawal]


def get_trial(session: Session, trial_id: str) -> Trial | None:
    return session.get(Trial, trial_id)


def protocol_version_at(session: Session, trial: Trial, at: datetime) -> ProtocolVersionRow:
    """The trial's protocol version in force at `at`: the latest one of its protocol loaded by
    then that the trial has run under (the current one, or one loaded before it); the current
    version when every version was loaded after `at`."""
    current = session.get(ProtocolVersionRow, trial.protocol_version_id)
    if current is None:
        raise LookupError(f"protocol version {trial.protocol_version_id} is missing")
    earlier = session.scalars(
        select(ProtocolVersionRow)
        .where(
            ProtocolVersionRow.protocol_id == current.protocol_id,
            ProtocolVersionRow.loaded_at <= at,
            ProtocolVersionRow.loaded_at <= current.loaded_at,
        )
        .order_by(ProtocolVersionRow.loaded_at.desc(), ProtocolVersionRow.id)
        .limit(1)
    ).first()
    return earlier or current


def trial_rows(session: Session, trial_id: str, at: datetime) -> TrialRows:
    subjects = list(
        session.scalars(
            select(Subject)
            .where(Subject.trial_id == trial_id, Subject.registered_at <= at)
            .order_by(Subject.number)
        )
    )
    ids = [subject.id for subject in subjects]
    infusions = list(
        session.scalars(
            select(Infusion)
            .where(
                Infusion.subject_id.in_(ids),
                Infusion.status == "given",
                Infusion.recorded_at <= at,
            )
            .order_by(Infusion.subject_id, Infusion.infusion_number)
        )
    )
    preparation_ids = {i.preparation_id for i in infusions if i.preparation_id is not None}
    return TrialRows(
        subjects=subjects,
        screenings=list(
            session.scalars(
                select(Screening)
                .where(Screening.subject_id.in_(ids), Screening.recorded_at <= at)
                .order_by(Screening.subject_id, Screening.recorded_at, Screening.id)
            )
        ),
        enrolments=list(
            session.scalars(
                select(Enrolment)
                .where(Enrolment.trial_id == trial_id, Enrolment.enrolled_at <= at)
                .order_by(Enrolment.sequence)
            )
        ),
        infusions=infusions,
        preparations={
            row.id: row
            for row in session.scalars(
                select(DosePreparation).where(DosePreparation.id.in_(preparation_ids))
            )
        },
        weights=list(
            session.scalars(
                select(WeightMeasurement)
                .where(WeightMeasurement.subject_id.in_(ids), WeightMeasurement.recorded_at <= at)
                .order_by(
                    WeightMeasurement.subject_id,
                    WeightMeasurement.measured_on,
                    WeightMeasurement.recorded_at,
                )
            )
        ),
        visits=list(
            session.scalars(
                select(VisitRecord)
                .where(VisitRecord.subject_id.in_(ids), VisitRecord.recorded_at <= at)
                .order_by(VisitRecord.subject_id, VisitRecord.visit_date)
            )
        ),
        withdrawals=list(
            session.scalars(
                select(SubjectWithdrawal).where(
                    SubjectWithdrawal.trial_id == trial_id, SubjectWithdrawal.recorded_at <= at
                )
            )
        ),
    )
