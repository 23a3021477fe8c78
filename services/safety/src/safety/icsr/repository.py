"""Queries of ICSR messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.icsr.models import IcsrMessageRow


def messages(session: Session, ae_id: uuid.UUID) -> Sequence[IcsrMessageRow]:
    """The messages of an adverse event, oldest first."""
    return session.scalars(
        select(IcsrMessageRow).where(IcsrMessageRow.ae_id == ae_id).order_by(IcsrMessageRow.number)
    ).all()


def latest(session: Session, ae_id: uuid.UUID) -> IcsrMessageRow | None:
    return session.scalars(
        select(IcsrMessageRow)
        .where(IcsrMessageRow.ae_id == ae_id)
        .order_by(IcsrMessageRow.number.desc())
        .limit(1)
    ).first()


def message(session: Session, ae_id: uuid.UUID, number: int) -> IcsrMessageRow | None:
    return session.get(IcsrMessageRow, (ae_id, number))
