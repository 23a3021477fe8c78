"""Dose orders of an investigator: hold a subject's dose (no dose prepared or given until the
hold is released, or none again once it is made permanent) or reduce it (every later
preparation at a % of the assigned level's dose). Each is audited and published.

A dose already prepared and not given when a reduction or a permanent stop is ordered is
cancelled: it no longer matches the order, and the infusion is prepared again under it. Dosing
sits above this package (it refuses a dose while a hold is in force): the infusions given so far
are handed in, and the cancellation is run between the check and the store by
`enrollment.workflows.dose_orders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import DoseOrderRecorded, DoseOrderResolved
from doseline.errors import Conflict
from enrollment.cohorts import service as cohorts_service
from enrollment.dose_orders import repository
from enrollment.dose_orders.models import DoseOrder
from enrollment.dose_orders.schemas import DoseOrderCreate
from enrollment.problems import (
    DOSE_HELD,
    DOSING_STOPPED,
    NO_ACTIVE_HOLD,
    NO_DOSE_LEFT,
    REDUCTION_NOT_LOWER,
)
from enrollment.protocol import Protocol
from enrollment.subjects import service as subjects_service
from enrollment.subjects.models import Subject
from enrollment.trials.models import Trial


def refuse_while_held(session: Session, subject_id: str, refused: str) -> None:
    """409 while an investigator's hold is in force (active, or made permanent)."""
    hold = repository.blocking_hold(session, subject_id)
    if hold is None:
        return
    if hold.status == "permanent":
        raise Conflict(
            f"{refused}: the investigator stopped dosing subject {subject_id} for good"
            f" ({hold.resolution_reason}); no further dose is prepared or given",
            problem=DOSING_STOPPED,
            extra={"dose_order_id": str(hold.id)},
        )
    raise Conflict(
        f"{refused}: {hold.ordered_by} holds the dose of subject {subject_id} ({hold.reason});"
        " an investigator releases the hold first"
        f" (POST /v1/subjects/{subject_id}/dose-hold/resolution)",
        problem=DOSE_HELD,
        extra={"dose_order_id": str(hold.id)},
    )


def dosable_subject(session: Session, subject_id: str) -> tuple[Subject, Trial, Protocol]:
    """The subject (locked), trial and protocol, if the subject may still be dosed."""
    found = subjects_service.locked_with_protocol(session, subject_id)
    cohorts_service.enrolment_to_dose(session, subject_id)
    return found


def _next_infusion(subject_id: str, given: int, count: int) -> int:
    if given >= count:
        raise Conflict(
            f"subject {subject_id} has received all {count} infusions: there is no dose left"
            " to hold or reduce",
            problem=NO_DOSE_LEFT,
        )
    return given + 1


def _check_reduction(current: DoseOrder | None, percent: int) -> None:
    if current is None or current.percent_of_dose is None:
        return
    if percent >= current.percent_of_dose:
        raise Conflict(
            f"the dose is already reduced to {current.percent_of_dose}%; a further reduction"
            f" must be lower than that, not {percent}%",
            problem=REDUCTION_NOT_LOWER,
            extra={"dose_order_id": str(current.id)},
        )


def subject_to_order(
    session: Session, *, subject_id: str, body: DoseOrderCreate
) -> tuple[Subject, Trial, Protocol]:
    """The subject (locked), trial and protocol, if a dose order may be placed for it now."""
    found = dosable_subject(session, subject_id)
    refuse_while_held(session, subject_id, f"no {body.kind} is ordered")
    return found


@dataclass(frozen=True)
class PlannedOrder:
    """A dose order checked and not stored yet, and the reduction it supersedes."""

    row: DoseOrder
    superseded: DoseOrder | None


def plan_order(
    session: Session,
    *,
    subject_id: str,
    trial: Trial,
    protocol: Protocol,
    body: DoseOrderCreate,
    infusions_given: int,
    principal: Principal,
    now: datetime,
) -> PlannedOrder:
    """The hold or reduction of the subject's next doses, from the infusion after the
    `infusions_given` so far."""
    from_infusion = _next_infusion(subject_id, infusions_given, protocol.infusions.count)
    percent = body.percent_of_dose
    superseded = None
    if percent is not None:
        superseded = repository.active_reduction(session, subject_id)
        _check_reduction(superseded, percent)
    row = DoseOrder(
        subject_id=subject_id,
        trial_id=trial.id,
        kind=body.kind,
        percent_of_dose=percent,
        from_infusion=from_infusion,
        reason=body.reason,
        status="active",
        ordered_by=principal.audit_name,
        ordered_at=now,
    )
    return PlannedOrder(row=row, superseded=superseded)


def store_order(
    session: Session,
    planned: PlannedOrder,
    *,
    subject: Subject,
    principal: Principal,
    now: datetime,
) -> DoseOrder:
    """Store the order (superseding the earlier reduction), audit and publish it."""
    row, superseded = planned.row, planned.superseded
    percent = row.percent_of_dose
    session.add(row)
    if superseded is not None and percent is not None:
        _supersede(superseded, percent, principal, now)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action=f"dose_order.{row.kind}",
        entity_type="subject",
        entity_id=row.subject_id,
        after={
            "order_id": str(row.id),
            "kind": row.kind,
            "percent_of_dose": percent,
            "from_infusion": row.from_infusion,
            "superseded_order_id": None if superseded is None else str(superseded.id),
        },
        reason=row.reason,
    )
    _publish_order(session, row, site_id=subject.site_id)
    return row


def _publish_order(session: Session, row: DoseOrder, *, site_id: str) -> None:
    kind: Literal["hold", "reduction"] = "hold" if row.kind == "hold" else "reduction"
    outbox.record_event(
        session,
        DoseOrderRecorded(
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            site_id=site_id,
            order_id=str(row.id),
            kind=kind,
            percent_of_dose=row.percent_of_dose,
            from_infusion=row.from_infusion,
            reason=row.reason,
            ordered_by=row.ordered_by,
        ),
        subject=f"subjects/{row.subject_id}",
    )


def _supersede(order: DoseOrder, percent: int, principal: Principal, now: datetime) -> None:
    order.status = "superseded"
    order.resolved_by = principal.audit_name
    order.resolved_at = now
    order.resolution_reason = f"a reduction to {percent}% replaces it"


def hold_to_resolve(session: Session, *, subject_id: str) -> tuple[Subject, Trial, DoseOrder]:
    """The subject (locked), trial and the subject's active hold (409 without one)."""
    subject, trial, _protocol = dosable_subject(session, subject_id)
    hold = repository.blocking_hold(session, subject_id)
    if hold is None or hold.status != "active":
        raise Conflict(
            f"subject {subject_id} has no active dose hold"
            + ("" if hold is None else f": the hold is {hold.status} since {hold.resolved_at}"),
            problem=NO_ACTIVE_HOLD,
        )
    return subject, trial, hold


def resolve_hold(
    session: Session,
    hold: DoseOrder,
    *,
    subject: Subject,
    trial: Trial,
    outcome: str,
    reason: str,
    principal: Principal,
    now: datetime,
) -> DoseOrder:
    """Release the subject's active hold (dosing resumes) or make it permanent (no dose
    again; the caller cancels the pending preparations first)."""
    subject_id = subject.id
    hold.status = outcome
    hold.resolved_by = principal.audit_name
    hold.resolved_at = now
    hold.resolution_reason = reason
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="dose_order.resolve",
        entity_type="subject",
        entity_id=subject_id,
        before={"order_id": str(hold.id), "status": "active"},
        after={"order_id": str(hold.id), "status": outcome},
        reason=reason,
    )
    outbox.record_event(
        session,
        DoseOrderResolved(
            trial_id=trial.id,
            subject_id=subject_id,
            site_id=subject.site_id,
            order_id=str(hold.id),
            outcome="permanent" if outcome == "permanent" else "released",
            reason=reason,
            resolved_by=principal.audit_name,
        ),
        subject=f"subjects/{subject_id}",
    )
    return hold


def orders_of(
    session: Session, subject_id: str, *, after: tuple[Any, ...] | None, limit: int
) -> list[DoseOrder]:
    subjects_service.get_subject(session, subject_id)
    return repository.orders_of(session, subject_id, after=after, limit=limit)
