"""Queries of dose orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import pagination
from enrollment.dose_orders.models import DoseOrder


def orders_of(
    session: Session, subject_id: str, *, after: tuple[Any, ...] | None, limit: int
) -> list[DoseOrder]:
    """A page of the subject's orders, oldest first, after ``after`` (ordered_at, id)."""
    return list(
        session.scalars(
            select(DoseOrder)
            .where(
                DoseOrder.subject_id == subject_id,
                pagination.after(after, DoseOrder.ordered_at, DoseOrder.id),
            )
            .order_by(DoseOrder.ordered_at, DoseOrder.id)
            .limit(limit)
        )
    )


def blocking_hold(session: Session, subject_id: str) -> DoseOrder | None:
    """The subject's hold in force: active (until released) or permanent."""
    return session.scalars(
        select(DoseOrder).where(
            DoseOrder.subject_id == subject_id,
            DoseOrder.kind == "hold",
            DoseOrder.status.in_(("active", "permanent")),
        )
    ).first()


def active_reduction(session: Session, subject_id: str) -> DoseOrder | None:
    return session.scalars(
        select(DoseOrder).where(
            DoseOrder.subject_id == subject_id,
            DoseOrder.kind == "reduction",
            DoseOrder.status == "active",
        )
    ).first()
