"""Queries of site reference ranges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from safety.reference_ranges.models import ReferenceRangeRow, SiteReferenceRangesRow


def site_set(session: Session, trial_id: str, site_id: str) -> SiteReferenceRangesRow | None:
    return session.get(SiteReferenceRangesRow, (trial_id, site_id))


def lock_site_set(
    session: Session, trial_id: str, site_id: str, *, now: datetime, actor: str
) -> SiteReferenceRangesRow:
    """The site's set, created empty (version 0) if it has none, locked until commit."""
    session.execute(
        insert(SiteReferenceRangesRow)
        .values(trial_id=trial_id, site_id=site_id, version=0, updated_at=now, updated_by=actor)
        .on_conflict_do_nothing(index_elements=["trial_id", "site_id"])
    )
    row = session.scalars(
        select(SiteReferenceRangesRow)
        .where(
            SiteReferenceRangesRow.trial_id == trial_id,
            SiteReferenceRangesRow.site_id == site_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def ranges(
    session: Session, trial_id: str, site_id: str, *, analyte: str | None = None
) -> list[ReferenceRangeRow]:
    query = select(ReferenceRangeRow).where(
        ReferenceRangeRow.trial_id == trial_id, ReferenceRangeRow.site_id == site_id
    )
    if analyte is not None:
        query = query.where(ReferenceRangeRow.analyte == analyte)
    return list(session.scalars(query.order_by(ReferenceRangeRow.position)))


def replace_ranges(
    session: Session, trial_id: str, site_id: str, rows: list[ReferenceRangeRow]
) -> None:
    session.execute(
        delete(ReferenceRangeRow).where(
            ReferenceRangeRow.trial_id == trial_id, ReferenceRangeRow.site_id == site_id
        )
    )
    session.add_all(rows)
    session.flush()
