"""ORM rows of body weights, dual-verified dose preparations and infusion records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from enrollment.db import Base


class WeightMeasurement(Base):
    """A body weight in kg and the calendar day it was measured."""

    __tablename__ = "weight_measurements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    measured_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DosePreparation(Base):
    """The dose for one infusion, computed from the weight, prepared by one person and verified
    by another before it may be given."""

    __tablename__ = "dose_preparations"
    # One usable preparation per infusion; a cancelled one (withdrawal, a dose order, a new
    # weight that re-doses) leaves room for the infusion to be prepared again.
    __table_args__ = (
        Index(
            "uq_dose_preparations_active_infusion",
            "subject_id",
            "infusion_number",
            unique=True,
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    infusion_number: Mapped[int] = mapped_column(Integer)
    weight_measurement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("weight_measurements.id"))
    dose_level: Mapped[int] = mapped_column(Integer)
    per_kg_dose: Mapped[Decimal] = mapped_column(Numeric(30, 6))
    dose_cells: Mapped[Decimal] = mapped_column(Numeric(30, 6))
    unrounded_cells: Mapped[Decimal] = mapped_column(Numeric(40, 12))
    capped: Mapped[bool] = mapped_column(default=False)
    # The whole dose of the assigned level for the weight; dose_cells is less under a reduction.
    full_dose_cells: Mapped[Decimal] = mapped_column(Numeric(30, 6))
    percent_of_dose: Mapped[int] = mapped_column(Integer, default=100, server_default=text("100"))
    dose_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dose_orders.id"), nullable=True
    )
    # Set when a later weight re-dosed the infusion: the weight the series was first dosed with.
    series_weight_measurement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("weight_measurements.id"), nullable=True
    )
    # Which weight doses it and why (the protocol's re-dosing rule, both weights), when not
    # simply the first weight.
    dose_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    volume_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), nullable=True)
    product_lot: Mapped[str] = mapped_column(String(80))
    protocol_version: Mapped[str] = mapped_column(String(40))
    prepared_by: Mapped[str] = mapped_column(String(200))
    prepared_by_subject: Mapped[str] = mapped_column(String(200))
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A preparation never given is cancelled when its subject is withdrawn: it may not be used.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancellation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Infusion(Base):
    """One infusion of the schedule: given (with its timing flag) or recorded as missed."""

    __tablename__ = "infusions"
    __table_args__ = (UniqueConstraint("subject_id", "infusion_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    infusion_number: Mapped[int] = mapped_column(Integer)
    # given or missed
    status: Mapped[str] = mapped_column(String(20))
    preparation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dose_preparations.id"), nullable=True
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    site_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    planned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    timing: Mapped[str] = mapped_column(String(20))
    dose_given_cells: Mapped[Decimal | None] = mapped_column(Numeric(30, 6), nullable=True)
    dose_given_per_kg: Mapped[Decimal | None] = mapped_column(Numeric(30, 6), nullable=True)
    # An interrupted infusion stopped short: the volume given of the volume prepared.
    volume_given_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), nullable=True)
    volume_prepared_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), nullable=True)
    # The whole dose of the assigned level was given (not interrupted short, not reduced).
    full_dose: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    product_lot: Mapped[str | None] = mapped_column(String(80), nullable=True)
    interruptions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    deviation: Mapped[str | None] = mapped_column(Text, nullable=True)
    deviation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
