"""Queries of the escalation state, its history, DLT facts, decisions and signatures, and the
resolutions of late DLTs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from enrollment.cohorts.models import Cohort, Enrolment
from enrollment.dlt_windows.models import DltWindow
from enrollment.escalation_state.models import (
    DecisionSignature,
    DltFact,
    EscalationDecision,
    EscalationHistory,
    EscalationState,
    LateDltResolution,
    LateDltResolutionSignature,
)
from enrollment.subjects.models import SubjectWithdrawal


def lock_state(session: Session, trial_id: str) -> EscalationState | None:
    """The trial's escalation row, locked until the transaction ends (one recompute at a time).

    Read afresh once locked: a copy loaded earlier in the transaction may predate the commit
    the lock waited for, and a recompute writing from it would update only the columns that
    differ from the stale copy, leaving a row no recompute produced."""
    return session.scalars(
        select(EscalationState)
        .where(EscalationState.trial_id == trial_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def read_one_snapshot(session: Session) -> None:
    """Every later read of the transaction sees one snapshot (REPEATABLE READ): the state, its
    history entry and the per-level counts shown together are of the same commit. Call it
    before the transaction's first query."""
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def get_state(session: Session, trial_id: str) -> EscalationState | None:
    return session.get(EscalationState, trial_id)


def cohorts_of(session: Session, trial_id: str) -> list[Cohort]:
    return list(
        session.scalars(select(Cohort).where(Cohort.trial_id == trial_id).order_by(Cohort.number))
    )


def enrolments_of(session: Session, trial_id: str) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.trial_id == trial_id).order_by(Enrolment.sequence)
        )
    )


def windows_of(session: Session, trial_id: str) -> dict[str, DltWindow]:
    rows = session.scalars(select(DltWindow).where(DltWindow.trial_id == trial_id))
    return {row.subject_id: row for row in rows}


def confirmed_dlt_subjects(session: Session, subject_ids: Sequence[str]) -> set[str]:
    """Subjects with at least one DLT whose latest adjudication is a confirmation."""
    if not subject_ids:
        return set()
    rows = session.scalars(
        select(DltFact.subject_id).where(
            DltFact.subject_id.in_(subject_ids), DltFact.status == "confirmed"
        )
    )
    return set(rows)


def withdrawn_subjects(session: Session, subject_ids: Sequence[str]) -> set[str]:
    """Subjects among `subject_ids` who were withdrawn."""
    if not subject_ids:
        return set()
    return set(
        session.scalars(
            select(SubjectWithdrawal.subject_id).where(
                SubjectWithdrawal.subject_id.in_(subject_ids)
            )
        )
    )


def suspected_dlt_subjects(session: Session, subject_ids: Sequence[str]) -> set[str]:
    """Subjects with a DLT suspected and not yet adjudicated."""
    if not subject_ids:
        return set()
    rows = session.scalars(
        select(DltFact.subject_id).where(
            DltFact.subject_id.in_(subject_ids), DltFact.status == "suspected"
        )
    )
    return set(rows)


def mark_matched(session: Session, subject_ids: Sequence[str]) -> None:
    if subject_ids:
        session.execute(
            update(DltFact)
            .where(DltFact.subject_id.in_(subject_ids), DltFact.matched.is_(False))
            .values(matched=True)
        )


def unmatched_dlts(session: Session, trial_id: str) -> list[DltFact]:
    return list(
        session.scalars(
            select(DltFact)
            .where(DltFact.trial_id == trial_id, DltFact.matched.is_(False))
            .order_by(DltFact.received_at)
        )
    )


def upsert_dlt_fact(session: Session, values: dict[str, object]) -> bool:
    """Store the adjudication if it is newer than the one stored; False if it is not.

    One statement, so two deliveries racing for the same DLT cannot both win: the higher
    `adjudication_sequence` is kept whatever the order of arrival.
    """
    insert_row = insert(DltFact).values(**values)
    statement = insert_row.on_conflict_do_update(
        index_elements=[DltFact.dlt_id],
        set_={
            name: insert_row.excluded[name]
            for name in values
            if name not in {"dlt_id", "received_at"}
        },
        where=DltFact.adjudication_sequence < insert_row.excluded.adjudication_sequence,
    ).returning(DltFact.dlt_id)
    return session.execute(statement).first() is not None


def latest_history(session: Session, trial_id: str) -> EscalationHistory | None:
    return session.scalars(
        select(EscalationHistory)
        .where(EscalationHistory.trial_id == trial_id)
        .order_by(EscalationHistory.seq.desc())
        .limit(1)
    ).first()


def history_page(
    session: Session, trial_id: str, *, after_seq: int, limit: int
) -> list[EscalationHistory]:
    return list(
        session.scalars(
            select(EscalationHistory)
            .where(EscalationHistory.trial_id == trial_id, EscalationHistory.seq > after_seq)
            .order_by(EscalationHistory.seq)
            .limit(limit)
        )
    )


def pending_decision(session: Session, trial_id: str) -> EscalationDecision | None:
    return session.scalars(
        select(EscalationDecision).where(
            EscalationDecision.trial_id == trial_id, EscalationDecision.status == "pending"
        )
    ).first()


def decided_decision(
    session: Session, trial_id: str, cohort_number: int
) -> EscalationDecision | None:
    return session.scalars(
        select(EscalationDecision).where(
            EscalationDecision.trial_id == trial_id,
            EscalationDecision.cohort_number == cohort_number,
            EscalationDecision.status == "decided",
        )
    ).first()


def get_decision(
    session: Session, decision_id: uuid.UUID, *, for_update: bool = False
) -> EscalationDecision | None:
    statement = select(EscalationDecision).where(EscalationDecision.id == decision_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def decisions_of(session: Session, trial_id: str) -> list[EscalationDecision]:
    return list(
        session.scalars(
            select(EscalationDecision)
            .where(EscalationDecision.trial_id == trial_id)
            .order_by(EscalationDecision.created_at)
        )
    )


def signatures_of(session: Session, decision_id: uuid.UUID) -> list[DecisionSignature]:
    return list(
        session.scalars(
            select(DecisionSignature)
            .where(DecisionSignature.decision_id == decision_id)
            .order_by(DecisionSignature.signed_at)
        )
    )


def confirmed_dlt_facts(session: Session, trial_id: str) -> list[DltFact]:
    """The trial's DLTs whose latest adjudication is a confirmation, oldest received first."""
    return list(
        session.scalars(
            select(DltFact)
            .where(DltFact.trial_id == trial_id, DltFact.status == "confirmed")
            .order_by(DltFact.received_at, DltFact.dlt_id)
        )
    )


def resolutions_of(
    session: Session, trial_id: str, *, status: str | None = None
) -> list[LateDltResolution]:
    statement = select(LateDltResolution).where(LateDltResolution.trial_id == trial_id)
    if status is not None:
        statement = statement.where(LateDltResolution.status == status)
    return list(session.scalars(statement.order_by(LateDltResolution.proposed_at)))


def resolution_for(
    session: Session, trial_id: str, dlt_id: str, *, status: str
) -> LateDltResolution | None:
    return session.scalars(
        select(LateDltResolution).where(
            LateDltResolution.trial_id == trial_id,
            LateDltResolution.dlt_id == dlt_id,
            LateDltResolution.status == status,
        )
    ).first()


def get_resolution(
    session: Session, resolution_id: uuid.UUID, *, for_update: bool = False
) -> LateDltResolution | None:
    statement = select(LateDltResolution).where(LateDltResolution.id == resolution_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def resolution_signatures_of(
    session: Session, resolution_id: uuid.UUID
) -> list[LateDltResolutionSignature]:
    return list(
        session.scalars(
            select(LateDltResolutionSignature)
            .where(LateDltResolutionSignature.resolution_id == resolution_id)
            .order_by(LateDltResolutionSignature.signed_at)
        )
    )
