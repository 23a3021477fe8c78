"""An investigator's dose orders: a reduction or a permanent stop cancels the doses prepared
and not given (they no longer match the order), between the order's checks and its store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from doseline.auth import Principal
from enrollment.dose_orders import service as dose_orders_service
from enrollment.dose_orders.models import DoseOrder
from enrollment.dose_orders.schemas import DoseOrderCreate
from enrollment.dosing import service as dosing_service


def order_dose(
    session: Session,
    *,
    subject_id: str,
    body: DoseOrderCreate,
    principal: Principal,
    now: datetime,
) -> DoseOrder:
    """Record an investigator's hold or reduction of the subject's next doses."""
    subject, trial, protocol = dose_orders_service.subject_to_order(
        session, subject_id=subject_id, body=body
    )
    planned = dose_orders_service.plan_order(
        session,
        subject_id=subject_id,
        trial=trial,
        protocol=protocol,
        body=body,
        infusions_given=dosing_service.infusions_given(session, subject_id),
        principal=principal,
        now=now,
    )
    if body.percent_of_dose is not None:
        # A dose prepared at the old dose may no longer be given: it is prepared again.
        dosing_service.cancel_pending_preparations(
            session,
            subject_id=subject_id,
            why=f"the dose was reduced to {body.percent_of_dose}% by {principal.audit_name}:"
            " prepare it again",
            actor=principal.audit_name,
            now=now,
        )
    return dose_orders_service.store_order(
        session, planned, subject=subject, principal=principal, now=now
    )


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
    subject, trial, hold = dose_orders_service.hold_to_resolve(session, subject_id=subject_id)
    if outcome == "permanent":
        dosing_service.cancel_pending_preparations(
            session,
            subject_id=subject_id,
            why=f"dosing stopped for good by {principal.audit_name}: {reason}",
            actor=principal.audit_name,
            now=now,
        )
    return dose_orders_service.resolve_hold(
        session,
        hold,
        subject=subject,
        trial=trial,
        outcome=outcome,
        reason=reason,
        principal=principal,
        now=now,
    )
