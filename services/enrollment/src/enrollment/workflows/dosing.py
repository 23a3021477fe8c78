"""Recording a weight or an infusion: the dosing record, the deviations it departs from the
plan by, and the subject's closed DLT window re-assessed when the fact comes late."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from doseline.auth import Principal
from enrollment.deviations import service as deviations_service
from enrollment.dosing import service as dosing_service
from enrollment.dosing.models import Infusion, WeightMeasurement
from enrollment.dosing.schemas import InfusionCreate
from enrollment.workflows import late_facts


def record_weight(
    session: Session,
    *,
    subject_id: str,
    weight_kg: Decimal,
    measured_on: date,
    principal: Principal,
    now: datetime,
) -> WeightMeasurement:
    late_facts.hold_for_late_fact(session, subject_id=subject_id)
    row = dosing_service.record_weight(
        session,
        subject_id=subject_id,
        weight_kg=weight_kg,
        measured_on=measured_on,
        principal=principal,
        now=now,
    )
    late_facts.reopen_for_late_fact(
        session,
        subject_id=subject_id,
        late_fact=f"weight of {measured_on.isoformat()} recorded by {principal.audit_name}",
        now=now,
    )
    return row


def record_infusion(
    session: Session,
    *,
    subject_id: str,
    body: InfusionCreate,
    principal: Principal,
    now: datetime,
) -> Infusion:
    dosable = dosing_service.infusion_to_record(session, subject_id=subject_id)
    late_facts.hold_for_late_fact(session, subject_id=subject_id)
    recorded = dosing_service.record_infusion(
        session, dosable, body=body, principal=principal, now=now
    )
    for departure in recorded.departures:
        deviations_service.record_deviation(
            session,
            trial_id=dosable.trial.id,
            subject_id=subject_id,
            site_id=dosable.subject.site_id,
            departure=departure,
            actor=principal.audit_name,
            now=now,
        )
    # Entered after the window was closed (back-dated, or simply late): the closed judgement
    # is re-opened with this infusion counted, never left standing without it.
    late_facts.reopen_for_late_fact(
        session,
        subject_id=subject_id,
        late_fact=f"infusion {recorded.infusion_number} recorded by {principal.audit_name}",
        now=now,
    )
    return recorded.infusion
