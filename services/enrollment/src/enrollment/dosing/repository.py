"""Queries of weights, dose preparations and infusions."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.dosing.models import DosePreparation, Infusion, WeightMeasurement


def latest_weight(session: Session, subject_id: str) -> WeightMeasurement | None:
    return session.scalars(
        select(WeightMeasurement)
        .where(WeightMeasurement.subject_id == subject_id)
        .order_by(WeightMeasurement.measured_on.desc(), WeightMeasurement.recorded_at.desc())
        .limit(1)
    ).first()


def latest_weight_on_or_before(
    session: Session, subject_id: str, day: date
) -> WeightMeasurement | None:
    return session.scalars(
        select(WeightMeasurement)
        .where(WeightMeasurement.subject_id == subject_id, WeightMeasurement.measured_on <= day)
        .order_by(WeightMeasurement.measured_on.desc(), WeightMeasurement.recorded_at.desc())
        .limit(1)
    ).first()


def latest_weight_after(
    session: Session, series: WeightMeasurement, *, measured_from: date
) -> WeightMeasurement | None:
    """The latest weight recorded after ``series``, measured no earlier than it nor than
    ``measured_from``."""
    return session.scalars(
        select(WeightMeasurement)
        .where(
            WeightMeasurement.subject_id == series.subject_id,
            WeightMeasurement.id != series.id,
            WeightMeasurement.recorded_at > series.recorded_at,
            WeightMeasurement.measured_on >= series.measured_on,
            WeightMeasurement.measured_on >= measured_from,
        )
        .order_by(WeightMeasurement.measured_on.desc(), WeightMeasurement.recorded_at.desc())
        .limit(1)
    ).first()


def get_weight(session: Session, weight_id: uuid.UUID) -> WeightMeasurement | None:
    return session.get(WeightMeasurement, weight_id)


def preparation_for(
    session: Session, subject_id: str, infusion_number: int
) -> DosePreparation | None:
    """The preparation of the infusion that may still be used (a cancelled one may not)."""
    return session.scalars(
        select(DosePreparation).where(
            DosePreparation.subject_id == subject_id,
            DosePreparation.infusion_number == infusion_number,
            DosePreparation.cancelled_at.is_(None),
        )
    ).first()


def get_preparation(
    session: Session, preparation_id: uuid.UUID, *, for_update: bool = False
) -> DosePreparation | None:
    statement = select(DosePreparation).where(DosePreparation.id == preparation_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def infusions_of(session: Session, subject_id: str) -> list[Infusion]:
    return list(
        session.scalars(
            select(Infusion)
            .where(Infusion.subject_id == subject_id)
            .order_by(Infusion.infusion_number)
        )
    )


def given_count(session: Session, subject_id: str) -> int:
    return sum(1 for row in infusions_of(session, subject_id) if row.status == "given")


def get_infusion(
    session: Session, infusion_id: uuid.UUID, *, for_update: bool = False
) -> Infusion | None:
    statement = select(Infusion).where(Infusion.id == infusion_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def pending_preparations(session: Session, subject_id: str) -> list[DosePreparation]:
    """The subject's preparations not used by any infusion and not cancelled, locked."""
    used = select(Infusion.preparation_id).where(
        Infusion.subject_id == subject_id, Infusion.preparation_id.is_not(None)
    )
    return list(
        session.scalars(
            select(DosePreparation)
            .where(
                DosePreparation.subject_id == subject_id,
                DosePreparation.cancelled_at.is_(None),
                DosePreparation.id.not_in(used),
            )
            .order_by(DosePreparation.infusion_number)
            .with_for_update()
        )
    )


def short_infusions(
    session: Session, subject_id: str, numbers: tuple[int, ...]
) -> list[tuple[Infusion, DosePreparation]]:
    """The subject's infusions among ``numbers`` given short of the level's whole dose, with
    their preparations."""
    if not numbers:
        return []
    rows = session.execute(
        select(Infusion, DosePreparation)
        .join(DosePreparation, DosePreparation.id == Infusion.preparation_id)
        .where(
            Infusion.subject_id == subject_id,
            Infusion.status == "given",
            Infusion.full_dose.is_(False),
            Infusion.infusion_number.in_(numbers),
        )
        .order_by(Infusion.infusion_number)
    ).all()
    return [(row[0], row[1]) for row in rows]
