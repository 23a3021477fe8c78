"""Queries of the stored CTCAE dictionary."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from safety.catalogue.models import CtcaeTermRow, CtcaeVersionRow


def version_row(session: Session, version: str) -> CtcaeVersionRow | None:
    return session.get(CtcaeVersionRow, version)


def version_row_for_update(session: Session, version: str) -> CtcaeVersionRow | None:
    return session.scalars(
        select(CtcaeVersionRow).where(CtcaeVersionRow.version == version).with_for_update()
    ).first()


def all_versions(session: Session) -> Sequence[CtcaeVersionRow]:
    return session.scalars(select(CtcaeVersionRow).order_by(CtcaeVersionRow.version)).all()


def term_row(session: Session, version: str, meddra_code: str) -> CtcaeTermRow | None:
    return session.get(CtcaeTermRow, (version, meddra_code))


def insert_terms(session: Session, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        session.execute(insert(CtcaeTermRow), list(rows))


def delete_terms(session: Session, version: str) -> None:
    session.execute(delete(CtcaeTermRow).where(CtcaeTermRow.ctcae_version == version))


def search(
    session: Session, version: str, *, text: str | None, soc: str | None, limit: int
) -> Sequence[CtcaeTermRow]:
    """Terms matching a name fragment, a MedDRA code or a SOC; name prefixes rank first."""
    query = select(CtcaeTermRow).where(CtcaeTermRow.ctcae_version == version)
    order: list[ColumnElement[bool] | InstrumentedAttribute[str]] = [CtcaeTermRow.name_key]
    if text:
        key = _escape_like(text.strip().casefold())
        prefix = CtcaeTermRow.name_key.like(f"{key}%", escape="\\")
        query = query.where(
            or_(
                CtcaeTermRow.meddra_code == text.strip(),
                CtcaeTermRow.name_key.like(f"%{key}%", escape="\\"),
                func.lower(CtcaeTermRow.soc_name).like(f"%{key}%", escape="\\"),
            )
        )
        order = [
            (CtcaeTermRow.meddra_code != text.strip()),  # exact code first
            ~prefix,
            ~CtcaeTermRow.name_key.like(f"%{key}%", escape="\\"),
            CtcaeTermRow.name_key,
        ]
    if soc:
        query = query.where(
            func.lower(CtcaeTermRow.soc_name).like(
                f"%{_escape_like(soc.strip().casefold())}%", escape="\\"
            )
        )
    return session.scalars(query.order_by(*order).limit(limit)).all()


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
