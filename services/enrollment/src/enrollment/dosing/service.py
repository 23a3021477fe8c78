"""Dosing use cases: weights, dual-verified dose preparation, infusion records and their flags.

PROTOCOL.md: dose = per-kg dose × a weight measured at most 7 days before the first infusion;
the dose is prepared by one pharmacist and verified by a different pharmacist or investigator
before the infusion may be recorded. A late infusion is recorded and flagged, never refused;
a fifth infusion is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import InfusionAdministered
from doseline.errors import Conflict, Forbidden, InvalidInput, NotFound
from doseline.etags import check_if_match
from enrollment.cohorts import repository as cohorts_repository
from enrollment.cohorts.models import Enrolment
from enrollment.dlt_windows import repository as dlt_windows_repository
from enrollment.dlt_windows import service as dlt_windows_service
from enrollment.dlt_windows.models import DltWindow
from enrollment.dlt_windows.rules import dlt_window
from enrollment.dosing import repository
from enrollment.dosing.models import DosePreparation, Infusion, WeightMeasurement
from enrollment.dosing.schedule import (
    InfusionOrderError,
    InfusionSchedule,
    InfusionState,
    PlannedInfusion,
    TooManyInfusionsError,
    WeightError,
    classify_administration,
    dose_per_infusion,
    infusion_schedule,
    infusion_states,
    validate_weight,
)
from enrollment.dosing.schemas import InfusionCorrection, InfusionCreate
from enrollment.protocol import Protocol
from enrollment.subjects import repository as subjects_repository
from enrollment.subjects.models import Subject
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from escalation import InvalidWeightError


def _subject(session: Session, subject_id: str) -> tuple[Subject, Trial, Protocol]:
    subject = subjects_repository.get_subject(session, subject_id, for_update=True)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    return subject, trial, protocol_of(session, trial)


def _enrolment(session: Session, subject_id: str) -> Enrolment:
    """The subject's enrolment, if the subject may still be dosed: enrolled, not withdrawn."""
    enrolment = cohorts_repository.enrolment_of(session, subject_id)
    if enrolment is None:
        raise Conflict(
            f"subject {subject_id} is not enrolled; only enrolled subjects are dosed",
            slug="not-enrolled",
        )
    withdrawal = subjects_repository.withdrawal_of(session, subject_id)
    if withdrawal is not None:
        raise Conflict(
            f"subject {subject_id} was withdrawn ({withdrawal.reason.replace('_', ' ')}) on"
            f" {withdrawal.effective_on.isoformat()}; a withdrawn subject receives no further"
            " dose",
            slug="subject-withdrawn",
            title="Subject withdrawn",
            extra={
                "withdrawal_reason": withdrawal.reason,
                "effective_on": withdrawal.effective_on.isoformat(),
            },
        )
    return enrolment


def _weight_problem(error: ValueError) -> InvalidInput:
    return InvalidInput(
        str(error),
        slug="weight-not-usable",
        title="Weight cannot be used for dosing",
        extra={"errors": [{"loc": ["body", "weight_kg"], "msg": str(error)}]},
    )


def record_weight(
    session: Session,
    *,
    subject_id: str,
    weight_kg: Decimal,
    measured_on: date,
    principal: Principal,
    now: datetime,
) -> WeightMeasurement:
    subject, _trial, protocol = _subject(session, subject_id)
    dlt_windows_service.hold_for_late_fact(session, subject_id=subject.id)
    if measured_on > protocol.site.date_of(now):
        raise InvalidInput.at(["body", "measured_on"], "is after today at the site")
    try:
        # Plausibility only: a weight measured on the day it doses is never too old.
        validate_weight(
            protocol.dosing.weight,
            weight_kg,
            measured_on=measured_on,
            first_infusion_on=measured_on,
        )
    except (WeightError, InvalidWeightError) as error:
        raise _weight_problem(error) from None
    row = WeightMeasurement(
        subject_id=subject.id,
        weight_kg=weight_kg,
        measured_on=measured_on,
        recorded_by=principal.audit_name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="weight.record",
        entity_type="subject",
        entity_id=subject.id,
        after={"weight_kg": weight_kg, "measured_on": measured_on, "weight_id": str(row.id)},
    )
    dlt_windows_service.reopen_for_late_fact(
        session,
        subject_id=subject.id,
        late_fact=f"weight of {measured_on.isoformat()} recorded by {principal.audit_name}",
        now=now,
    )
    return row


def _first_given(session: Session, subject_id: str) -> Infusion | None:
    given = [row for row in repository.infusions_of(session, subject_id) if row.status == "given"]
    return given[0] if given else None


def _dosing_weight(session: Session, subject_id: str, first_on: date) -> WeightMeasurement | None:
    """The weight that doses the whole series: the one infusion 1 was prepared with, or before
    infusion 1 the latest measured on or before its day (PROTOCOL.md: one weight, measured at
    most 7 days before the first infusion). A weight taken later never changes the dose."""
    first_preparation = repository.preparation_for(session, subject_id, 1)
    if first_preparation is not None:
        return repository.get_weight(session, first_preparation.weight_measurement_id)
    return repository.latest_weight_on_or_before(
        session, subject_id, first_on
    ) or repository.latest_weight(session, subject_id)


def prepare_dose(
    session: Session,
    *,
    subject_id: str,
    infusion_number: int,
    product_lot: str,
    planned_first_infusion_on: date | None,
    principal: Principal,
    now: datetime,
) -> DosePreparation:
    subject, _trial, protocol = _subject(session, subject_id)
    enrolment = _enrolment(session, subject_id)
    if infusion_number > protocol.infusions.count:
        raise Conflict(
            f"infusion {infusion_number} refused: the protocol plans {protocol.infusions.count}"
            " infusions",
            slug="infusion-count-exceeded",
            title="No such infusion",
        )
    if repository.preparation_for(session, subject_id, infusion_number) is not None:
        raise Conflict(
            f"infusion {infusion_number} of subject {subject_id} is already prepared",
            slug="already-prepared",
        )
    first = _first_given(session, subject_id)
    if first is not None and first.site_date is not None:
        first_on = first.site_date
    elif planned_first_infusion_on is not None:
        first_on = planned_first_infusion_on
    else:
        raise InvalidInput.at(
            ["body", "first_infusion_on"],
            "give the planned date of the first infusion: the weight must be measured at most"
            f" {protocol.dosing.weight.max_age_days} days before it",
        )
    weight = _dosing_weight(session, subject_id, first_on)
    if weight is None:
        raise Conflict(
            f"subject {subject_id} has no body weight; record one first", slug="weight-required"
        )
    try:
        dose = dose_per_infusion(
            protocol,
            enrolment.dose_level,
            weight.weight_kg,
            measured_on=weight.measured_on,
            first_infusion_on=first_on,
        )
    except (WeightError, InvalidWeightError) as error:
        raise _weight_problem(error) from None
    row = DosePreparation(
        subject_id=subject.id,
        infusion_number=infusion_number,
        weight_measurement_id=weight.id,
        dose_level=dose.dose_level,
        per_kg_dose=dose.per_kg,
        dose_cells=dose.cells,
        unrounded_cells=dose.calculation.unrounded,
        capped=dose.weight_capped,
        product_lot=product_lot,
        protocol_version=protocol.protocol.version,
        prepared_by=principal.audit_name,
        prepared_by_subject=principal.subject,
        prepared_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="dose.prepare",
        entity_type="dose_preparation",
        entity_id=str(row.id),
        after={
            "subject_id": subject.id,
            "infusion_number": infusion_number,
            "dose_level": dose.dose_level,
            "per_kg": dose.per_kg,
            "weight_kg": dose.weight_kg,
            "dose_cells": dose.cells,
            "product_lot": product_lot,
            "protocol_version": protocol.protocol.version,
        },
    )
    return row


def verify_preparation(
    session: Session,
    *,
    preparation_id: uuid.UUID,
    if_match: str | None,
    principal: Principal,
    now: datetime,
) -> DosePreparation:
    row = repository.get_preparation(session, preparation_id, for_update=True)
    if row is None:
        raise NotFound(f"no dose preparation {preparation_id}")
    # Final whatever version the caller saw: say so rather than ask for a fresh ETag.
    if row.cancelled_at is not None:
        raise Conflict(
            f"this dose preparation was cancelled: {row.cancellation_reason}",
            slug="preparation-cancelled",
        )
    check_if_match(if_match, current_version=row.version)
    if row.verified_at is not None:
        raise Conflict("this dose preparation is already verified", slug="already-verified")
    if row.prepared_by_subject == principal.subject:
        raise Forbidden(
            "you prepared this dose; a different pharmacist or an investigator must verify it",
            slug="verifier-is-preparer",
            title="Dual verification needs a second person",
        )
    row.verified_by = principal.audit_name
    row.verified_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="dose.verify",
        entity_type="dose_preparation",
        entity_id=str(row.id),
        before={"verified_by": None},
        after={"verified_by": principal.audit_name, "verified_at": now},
    )
    return row


def record_infusion(
    session: Session,
    *,
    subject_id: str,
    body: InfusionCreate,
    principal: Principal,
    now: datetime,
) -> tuple[Infusion, DltWindow]:
    subject, trial, protocol = _subject(session, subject_id)
    enrolment = _enrolment(session, subject_id)
    dlt_windows_service.hold_for_late_fact(session, subject_id=subject.id)
    if body.started_at > now:
        raise InvalidInput.at(["body", "started_at"], "is in the future")
    if body.ended_at is not None and body.ended_at < body.started_at:
        raise InvalidInput.at(["body", "ended_at"], "is before started_at")
    previous = [
        row for row in repository.infusions_of(session, subject_id) if row.status == "given"
    ]
    try:
        timing = classify_administration(
            protocol.infusions,
            protocol.site,
            body.started_at,
            [row.started_at for row in previous if row.started_at is not None],
        )
    except TooManyInfusionsError as error:
        raise Conflict(
            str(error), slug="infusion-count-exceeded", title="No such infusion"
        ) from None
    except InfusionOrderError as error:
        raise InvalidInput.at(["body", "started_at"], str(error)) from None
    number = timing.infusion_number
    preparation = repository.preparation_for(session, subject_id, number)
    if preparation is None or preparation.verified_at is None:
        raise Conflict(
            f"infusion {number} needs a dose prepared by a pharmacist and verified by a second"
            " person before it is recorded",
            slug="dose-not-verified",
            title="Dose not verified",
        )
    if number == 1:
        weight = repository.get_weight(session, preparation.weight_measurement_id)
        assert weight is not None
        try:
            validate_weight(
                protocol.dosing.weight,
                weight.weight_kg,
                measured_on=weight.measured_on,
                first_infusion_on=timing.administered_on,
            )
        except (WeightError, InvalidWeightError) as error:
            raise _weight_problem(error) from None
    deviations = []
    if timing.is_deviation:
        deviations.append(
            f"given on day {timing.study_day}, {timing.days_from_planned:+d} days from the"
            f" planned day {timing.planned.study_day}: outside the window"
        )
    if body.dose_given_cells != preparation.dose_cells:
        deviations.append(
            f"dose given {body.dose_given_cells} cells differs from the prepared"
            f" {preparation.dose_cells} cells"
        )
    if body.product_lot != preparation.product_lot:
        deviations.append(
            f"product lot {body.product_lot} differs from the prepared lot"
            f" {preparation.product_lot}"
        )
    if body.interruptions:
        deviations.append(f"interrupted {len(body.interruptions)} time(s)")
    row = Infusion(
        subject_id=subject.id,
        infusion_number=number,
        status="given",
        preparation_id=preparation.id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        site_date=timing.administered_on,
        planned_on=timing.planned.planned_on,
        timing=timing.timing.value,
        dose_given_cells=body.dose_given_cells,
        product_lot=body.product_lot,
        interruptions=[i.model_dump(mode="json") for i in body.interruptions],
        deviation="; ".join(deviations) or None,
        deviation_reason=body.deviation_reason,
        recorded_by=principal.audit_name,
        recorded_at=now,
    )
    session.add(row)
    window_row = _dlt_window_for(session, trial, protocol, subject.id, timing.schedule)
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="infusion.record",
        entity_type="infusion",
        entity_id=str(row.id),
        after={
            "subject_id": subject.id,
            "infusion_number": number,
            "started_at": body.started_at,
            "site_date": timing.administered_on,
            "timing": timing.timing.value,
            "dose_given_cells": body.dose_given_cells,
            "product_lot": body.product_lot,
            "deviation": row.deviation,
            "deviation_reason": body.deviation_reason,
        },
    )
    outbox.record_event(
        session,
        InfusionAdministered(
            trial_id=trial.id,
            subject_id=subject.id,
            site_id=subject.site_id,
            infusion_number=number,
            infusions_planned=protocol.infusions.count,
            is_last=timing.is_last,
            administered_at=body.started_at,
            dose_level=enrolment.dose_level,
            dose_cells=str(body.dose_given_cells),
            first_infusion_on=timing.schedule.first_infusion_on,
            dlt_window_start=window_row.starts_on,
            dlt_window_end=window_row.ends_on,
            deviation=row.deviation,
        ),
        subject=f"subjects/{subject.id}",
    )
    # Entered after the window was closed (back-dated, or simply late): the closed judgement
    # is re-opened with this infusion counted, never left standing without it.
    dlt_windows_service.reopen_for_late_fact(
        session,
        subject_id=subject.id,
        late_fact=f"infusion {number} recorded by {principal.audit_name}",
        now=now,
    )
    return row, window_row


def _dlt_window_for(
    session: Session,
    trial: Trial,
    protocol: Protocol,
    subject_id: str,
    schedule: InfusionSchedule,
) -> DltWindow:
    """The subject's DLT window, opened by the first infusion (day 1)."""
    existing = dlt_windows_repository.window_of(session, subject_id)
    if existing is not None:
        return existing
    window = dlt_window(protocol.dlt_window, schedule.first_infusion_on)
    row = DltWindow(
        subject_id=subject_id,
        trial_id=trial.id,
        starts_on=window.start,
        ends_on=window.end,
        status="open",
    )
    session.add(row)
    return row


def correct_infusion(
    session: Session,
    *,
    infusion_id: uuid.UUID,
    body: InfusionCorrection,
    if_match: str | None,
    principal: Principal,
) -> Infusion:
    """Correct the administration details of an infusion record, with a reason for change."""
    row = repository.get_infusion(session, infusion_id, for_update=True)
    if row is None:
        raise NotFound(f"no infusion {infusion_id}")
    check_if_match(if_match, current_version=row.version)
    changes = body.model_dump(exclude_unset=True, exclude={"reason"}, mode="json")
    if not changes:
        raise InvalidInput.at(["body"], "change at least one field besides the reason")
    if body.ended_at is not None and row.started_at is not None and body.ended_at < row.started_at:
        raise InvalidInput.at(["body", "ended_at"], "is before the infusion started")
    before = {
        "ended_at": row.ended_at,
        "product_lot": row.product_lot,
        "interruptions": row.interruptions,
        "deviation_reason": row.deviation_reason,
    }
    if "ended_at" in changes:
        row.ended_at = body.ended_at
    if body.product_lot is not None:
        row.product_lot = body.product_lot
    if body.interruptions is not None:
        row.interruptions = [i.model_dump(mode="json") for i in body.interruptions]
    if "deviation_reason" in changes:
        row.deviation_reason = body.deviation_reason
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action="infusion.correct",
        entity_type="infusion",
        entity_id=str(row.id),
        before=before,
        after=changes,
        reason=body.reason,
    )
    return row


def get_infusion(session: Session, infusion_id: uuid.UUID) -> Infusion:
    row = repository.get_infusion(session, infusion_id)
    if row is None:
        raise NotFound(f"no infusion {infusion_id}")
    return row


def get_preparation(session: Session, preparation_id: uuid.UUID) -> DosePreparation:
    row = repository.get_preparation(session, preparation_id)
    if row is None:
        raise NotFound(f"no dose preparation {preparation_id}")
    return row


def weight_of(session: Session, preparation: DosePreparation) -> WeightMeasurement:
    weight = repository.get_weight(session, preparation.weight_measurement_id)
    assert weight is not None
    return weight


@dataclass(frozen=True)
class InfusionPlan:
    """A subject's infusion records and, once infusion 1 is given, the planned schedule."""

    first_infusion_on: date | None
    window: DltWindow | None
    states: tuple[tuple[PlannedInfusion, InfusionState], ...]
    records: tuple[Infusion, ...]


def infusion_plan(session: Session, *, subject_id: str, now: datetime) -> InfusionPlan:
    subject = subjects_repository.get_subject(session, subject_id)
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    trial = trials_repository.get_trial(session, subject.trial_id)
    assert trial is not None
    protocol = protocol_of(session, trial)
    records = tuple(repository.infusions_of(session, subject_id))
    first_on = records[0].site_date if records else None
    states: tuple[tuple[PlannedInfusion, InfusionState], ...] = ()
    if first_on is not None:
        schedule = infusion_schedule(protocol.infusions, first_on)
        states = infusion_states(schedule, len(records), protocol.site.date_of(now))
    return InfusionPlan(
        first_infusion_on=first_on,
        window=dlt_windows_repository.window_of(session, subject_id),
        states=states,
        records=records,
    )
