"""Queries of received protocol versions and of amendment reviews."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline import protocol_versions
from doseline.auth import Principal
from doseline.contracts.protocol import SiteRules
from safety.protocols.models import DltReviewRow, ProtocolVersionRow
from safety.subjects.scope import subject_in_scope


def lock_trial(session: Session, trial_id: str) -> None:
    """Storing a version of a trial excludes every assessment that reads the trial's versions."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"protocol:{trial_id}"))))


def share_trial(session: Session, trial_id: str) -> None:
    """Reading a trial's versions waits for a version being stored (then sees it)."""
    session.execute(
        select(func.pg_advisory_xact_lock_shared(func.hashtext(f"protocol:{trial_id}")))
    )


def sites_received(session: Session) -> list[SiteRules]:
    """Every site of the versions received: the identifier systems a record is matched under."""
    return protocol_versions.sites_received(session, ProtocolVersionRow)


def versions(session: Session, trial_id: str) -> list[ProtocolVersionRow]:
    return protocol_versions.versions(session, ProtocolVersionRow, trial_id)


def reviews(
    session: Session,
    *,
    trial_id: str,
    status: str | None = None,
    principal: Principal | None = None,
) -> Sequence[DltReviewRow]:
    """The trial's reviews; with `principal`, only those of subjects at the caller's sites."""
    query = select(DltReviewRow).where(
        DltReviewRow.trial_id == trial_id,
        subject_in_scope(DltReviewRow.subject_id, principal),
    )
    if status is not None:
        query = query.where(DltReviewRow.status == status)
    return session.scalars(query.order_by(DltReviewRow.created_at, DltReviewRow.id)).all()


def add_review(session: Session, values: dict[str, object]) -> None:
    session.execute(
        insert(DltReviewRow)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[DltReviewRow.dlt_id, DltReviewRow.protocol_sequence]
        )
    )
