"""Dose orders of an investigator: hold a subject's dose (no dose prepared or given until the
hold is released, or none again once it is made permanent) or reduce it (every later
preparation at a % of the assigned level's dose). Each is audited and published.

A dose already prepared and not given when a reduction or a permanent stop is ordered is
cancelled: it no longer matches the order, and the infusion is prepared again under it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import DoseOrderRecorded, DoseOrderResolved
from doseline.errors import Conflict
from enrollment.dose_orders import repository
from enrollment.dose_orders.models import DoseOrder
from enrollment.dose_orders.schemas import DoseOrderCreate
from enrollment.dosing import repository as dosing_repository
from enrollment.dosing import service as dosing_service


def _next_infusion(session: Session, subject_id: str, count: int) -> int:
    given = dosing_repository.given_count(session, subject_id)
    if given >= count:
        raise Conflict(
            f"subject {subject_id} has received all {count} infusions: there is no dose left"
            " to hold or reduce",
            slug="no-dose-left",
        )
    return given + 1


def _check_reduction(current: DoseOrder | None, percent: int) -> None:
    if current is None or current.percent_of_dose is None:
        return
    if percent >= current.percent_of_dose:
        raise Conflict(
            f"the dose is already reduced to {current.percent_of_dose}%; a further reduction"
            f" must be lower than that, not {percent}%",
            slug="reduction-not-lower",
            extra={"dose_order_id": str(current.id)},
        )


def order_dose(
    session: Session,
    *,
    subject_id: str,
    body: DoseOrderCreate,
    principal: Principal,
    now: datetime,
) -> DoseOrder:
    """Record an investigator's hold or reduction of the subject's next doses."""
    subject, trial, protocol = dosing_service.dosable_subject(session, subject_id)
    dosing_service.refuse_while_held(session, subject_id, f"no {body.kind} is ordered")
    from_infusion = _next_infusion(session, subject_id, protocol.infusions.count)
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
    if percent is not None:
        # A dose prepared at the old dose may no longer be given: it is prepared again.
        dosing_service.cancel_pending_preparations(
            session,
            subject_id=subject_id,
            why=f"the dose was reduced to {percent}% by {principal.audit_name}: prepare it again",
            actor=principal.audit_name,
            now=now,
        )
    session.add(row)
    if superseded is not None and percent is not None:
        _supersede(superseded, percent, principal, now)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action=f"dose_order.{body.kind}",
        entity_type="subject",
        entity_id=subject_id,
        after={
            "order_id": str(row.id),
            "kind": body.kind,
            "percent_of_dose": percent,
            "from_infusion": from_infusion,
            "superseded_order_id": None if superseded is None else str(superseded.id),
        },
        reason=body.reason,
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


def resolve_hold(
    session: Session,
    *,
    subject_id: str,
    outcome: str,
    reason: str,
    principal: Principal,
    now: datetime,
) -> DoseOrder:
    """Release the subject's active hold (dosing resumes) or make it permanent (no dose again:
    pending preparations are cancelled)."""
    subject, trial, _protocol = dosing_service.dosable_subject(session, subject_id)
    hold = repository.blocking_hold(session, subject_id)
    if hold is None or hold.status != "active":
        raise Conflict(
            f"subject {subject_id} has no active dose hold"
            + ("" if hold is None else f": the hold is {hold.status} since {hold.resolved_at}"),
            slug="no-active-hold",
        )
    if outcome == "permanent":
        dosing_service.cancel_pending_preparations(
            session,
            subject_id=subject_id,
            why=f"dosing stopped for good by {principal.audit_name}: {reason}",
            actor=principal.audit_name,
            now=now,
        )
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
    dosing_service.known_subject(session, subject_id)
    return repository.orders_of(session, subject_id, after=after, limit=limit)
