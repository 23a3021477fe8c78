"""Queries of received protocol versions and of amendment reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Text, cast, func, select
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


@dataclass(frozen=True)
class VersionInBrief:
    """A received version without its rules: the rules' digest stands for them."""

    sequence: int
    effective_from: date | None
    protocol_version: str
    content_hash: str
    rules_sha256: str


def versions_in_brief(session: Session, trial_id: str) -> list[VersionInBrief]:
    """Every version of the trial, in activation order, with the SHA-256 of its rules' text
    (computed by the database, so the rules themselves are not sent)."""
    rows = session.execute(
        select(
            ProtocolVersionRow.sequence,
            ProtocolVersionRow.effective_from,
            ProtocolVersionRow.protocol_version,
            ProtocolVersionRow.content_hash,
            func.encode(
                func.sha256(func.convert_to(cast(ProtocolVersionRow.rules, Text), "UTF8")), "hex"
            ).label("rules_sha256"),
        )
        .where(ProtocolVersionRow.trial_id == trial_id)
        .order_by(ProtocolVersionRow.sequence)
    ).all()
    return [
        VersionInBrief(
            sequence=row.sequence,
            effective_from=row.effective_from,
            protocol_version=row.protocol_version,
            content_hash=row.content_hash,
            rules_sha256=row.rules_sha256,
        )
        for row in rows
    ]


def version(session: Session, trial_id: str, sequence: int) -> ProtocolVersionRow:
    row = session.get(ProtocolVersionRow, (trial_id, sequence))
    if row is None:  # pragma: no cover - listed in this transaction; versions are never deleted
        raise LookupError(f"trial {trial_id} has no protocol version {sequence}")
    return row


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
