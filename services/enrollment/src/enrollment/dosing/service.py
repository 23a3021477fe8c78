"""Dosing use cases: weights, dual-verified dose preparation, infusion records and their flags.

PROTOCOL.md: dose = per-kg dose × a weight measured at most 7 days before the first infusion;
the dose is prepared by one pharmacist and verified by a different pharmacist or investigator
before the infusion may be recorded. A late infusion is recorded and flagged, never refused;
a fifth infusion is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.auth import Principal
from doseline.contracts.enrollment import InfusionAdministered
from doseline.errors import Conflict, Forbidden, InvalidInput, NotFound
from doseline.etags import check_if_match
from doseline.numbers import plain
from enrollment.cohorts import service as cohorts_service
from enrollment.cohorts.models import Enrolment
from enrollment.dlt_windows import repository as dlt_windows_repository
from enrollment.dlt_windows.models import DltWindow
from enrollment.dlt_windows.rules import dlt_window
from enrollment.dose_orders import repository as dose_orders_repository
from enrollment.dose_orders import service as dose_orders_service
from enrollment.dose_orders.models import DoseOrder
from enrollment.dosing import repository
from enrollment.dosing.models import DosePreparation, Infusion, WeightMeasurement
from enrollment.dosing.schedule import (
    AdministrationTiming,
    Departure,
    InfusionDose,
    InfusionOrderError,
    InfusionSchedule,
    InfusionState,
    PlannedInfusion,
    TooManyInfusionsError,
    WeightError,
    WeightReading,
    classify_administration,
    dose_per_infusion,
    infusion_schedule,
    infusion_states,
    redose_decision,
    validate_weight,
)
from enrollment.dosing.schemas import InfusionCorrection, InfusionCreate, PreparationCreate
from enrollment.problems import (
    ALREADY_PREPARED,
    ALREADY_VERIFIED,
    DOSE_NOT_VERIFIED,
    INFUSION_COUNT_EXCEEDED,
    PREPARATION_CANCELLED,
    VERIFIER_IS_PREPARER,
    WEIGHT_NOT_USABLE,
    WEIGHT_REQUIRED,
)
from enrollment.protocol import Protocol
from enrollment.subjects import repository as subjects_repository
from enrollment.subjects import service as subjects_service
from enrollment.subjects.models import Subject
from enrollment.trials import repository as trials_repository
from enrollment.trials.models import Trial
from enrollment.trials.protocols import protocol_of
from escalation import InvalidWeightError


def _weight_problem(error: ValueError) -> InvalidInput:
    return InvalidInput(
        str(error),
        problem=WEIGHT_NOT_USABLE,
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
    """Record a weight (the caller holds the locks a late fact takes, and re-assesses the DLT
    window after: enrollment.workflows.dosing)."""
    subject, _trial, protocol = subjects_service.locked_with_protocol(session, subject_id)
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
    cancelled = _cancel_re_dosed_preparations(session, protocol, row, principal.audit_name, now)
    audit.record(
        session,
        actor=principal.audit_name,
        action="weight.record",
        entity_type="subject",
        entity_id=subject.id,
        after={
            "weight_kg": weight_kg,
            "measured_on": measured_on,
            "weight_id": str(row.id),
            "cancelled_preparations": list(cancelled),
        },
    )
    return row


def _first_given(session: Session, subject_id: str) -> Infusion | None:
    given = [row for row in repository.infusions_of(session, subject_id) if row.status == "given"]
    return given[0] if given else None


def _dosing_weight(session: Session, subject_id: str, first_on: date) -> WeightMeasurement | None:
    """The weight that doses the series: the one infusion 1 was prepared with, or before
    infusion 1 the latest measured on or before its day (PROTOCOL.md: one weight, measured at
    most 7 days before the first infusion). A weight measured again re-doses a later infusion
    only under the protocol's `dosing.redose_on_new_weight` (`_dosing_basis`)."""
    first_preparation = repository.preparation_for(session, subject_id, 1)
    if first_preparation is not None:
        return repository.get_weight(session, first_preparation.weight_measurement_id)
    return repository.latest_weight_on_or_before(
        session, subject_id, first_on
    ) or repository.latest_weight(session, subject_id)


def _first_infusion_day(
    session: Session, protocol: Protocol, subject_id: str, planned: date | None
) -> date:
    first = _first_given(session, subject_id)
    if first is not None and first.site_date is not None:
        return first.site_date
    if planned is not None:
        return planned
    raise InvalidInput.at(
        ["body", "first_infusion_on"],
        "give the planned date of the first infusion: the weight must be measured at most"
        f" {protocol.dosing.weight.max_age_days} days before it",
    )


@dataclass(frozen=True)
class DosingBasis:
    """The weight an infusion is dosed with, the day it doses, and (re-dosed) the series'."""

    weight: WeightMeasurement
    doses_on: date
    series: WeightMeasurement | None = None
    explanation: str | None = None


def _dosing_basis(
    session: Session,
    protocol: Protocol,
    *,
    subject_id: str,
    infusion_number: int,
    first_on: date,
) -> DosingBasis:
    """Which weight doses the infusion: the series weight, or for a later infusion a weight
    measured again since, when the protocol re-doses on it (both weights and the rule kept)."""
    series = _dosing_weight(session, subject_id, first_on)
    if series is None:
        raise Conflict(
            f"subject {subject_id} has no body weight; record one first", problem=WEIGHT_REQUIRED
        )
    if infusion_number == 1 or repository.preparation_for(session, subject_id, 1) is None:
        return DosingBasis(series, first_on)
    planned_on = infusion_schedule(protocol.infusions, first_on).planned(infusion_number).planned_on
    new = repository.latest_weight_after(
        session,
        series,
        measured_from=planned_on - timedelta(days=protocol.dosing.weight.max_age_days),
    )
    if new is None:
        return DosingBasis(series, first_on)
    decision = redose_decision(
        protocol.dosing.redose_on_new_weight,
        WeightReading(series.weight_kg, series.measured_on),
        WeightReading(new.weight_kg, new.measured_on),
    )
    if not decision.redose:
        return DosingBasis(series, first_on, explanation=decision.basis)
    doses_on = max(planned_on, new.measured_on)
    return DosingBasis(new, doses_on, series=series, explanation=decision.basis)


def _dose(
    protocol: Protocol, dose_level: int, basis: DosingBasis, reduction: DoseOrder | None
) -> InfusionDose:
    try:
        return dose_per_infusion(
            protocol,
            dose_level,
            basis.weight.weight_kg,
            measured_on=basis.weight.measured_on,
            first_infusion_on=basis.doses_on,
            percent_of_dose=100 if reduction is None else reduction.percent_of_dose or 100,
        )
    except (WeightError, InvalidWeightError) as error:
        raise _weight_problem(error) from None


def prepare_dose(
    session: Session,
    *,
    subject_id: str,
    body: PreparationCreate,
    principal: Principal,
    now: datetime,
) -> DosePreparation:
    subject, _trial, protocol = subjects_service.locked_with_protocol(session, subject_id)
    enrolment = cohorts_service.enrolment_to_dose(session, subject_id)
    number = body.infusion_number
    _check_preparable(session, protocol, subject_id, number)
    first_on = _first_infusion_day(session, protocol, subject_id, body.first_infusion_on)
    basis = _dosing_basis(
        session,
        protocol,
        subject_id=subject_id,
        infusion_number=number,
        first_on=first_on,
    )
    reduction = dose_orders_repository.active_reduction(session, subject_id)
    dose = _dose(protocol, enrolment.dose_level, basis, reduction)
    row = DosePreparation(
        subject_id=subject.id,
        infusion_number=number,
        weight_measurement_id=basis.weight.id,
        series_weight_measurement_id=None if basis.series is None else basis.series.id,
        dose_basis=basis.explanation,
        dose_level=dose.dose_level,
        per_kg_dose=dose.per_kg,
        dose_cells=dose.cells,
        full_dose_cells=dose.full_cells,
        percent_of_dose=dose.percent_of_dose,
        dose_order_id=None if reduction is None else reduction.id,
        unrounded_cells=dose.calculation.unrounded,
        capped=dose.weight_capped,
        volume_ml=body.volume_ml,
        product_lot=body.product_lot,
        protocol_version=protocol.protocol.version,
        prepared_by=principal.audit_name,
        prepared_by_subject=principal.subject,
        prepared_at=now,
    )
    session.add(row)
    session.flush()
    _audit_preparation(session, row, dose, basis, principal)
    return row


def _check_preparable(session: Session, protocol: Protocol, subject_id: str, number: int) -> None:
    dose_orders_service.refuse_while_held(session, subject_id, f"infusion {number} is not prepared")
    if number > protocol.infusions.count:
        raise Conflict(
            f"infusion {number} refused: the protocol plans {protocol.infusions.count} infusions",
            problem=INFUSION_COUNT_EXCEEDED,
        )
    if repository.preparation_for(session, subject_id, number) is not None:
        raise Conflict(
            f"infusion {number} of subject {subject_id} is already prepared",
            problem=ALREADY_PREPARED,
        )


def _audit_preparation(
    session: Session,
    row: DosePreparation,
    dose: InfusionDose,
    basis: DosingBasis,
    principal: Principal,
) -> None:
    audit.record(
        session,
        actor=principal.audit_name,
        action="dose.prepare",
        entity_type="dose_preparation",
        entity_id=str(row.id),
        after={
            "subject_id": row.subject_id,
            "infusion_number": row.infusion_number,
            "dose_level": dose.dose_level,
            "per_kg": dose.per_kg,
            "weight_kg": dose.weight_kg,
            "dose_cells": dose.cells,
            "full_dose_cells": dose.full_cells,
            "percent_of_dose": dose.percent_of_dose,
            "series_weight_kg": None if basis.series is None else basis.series.weight_kg,
            "dose_basis": basis.explanation,
            "volume_ml": row.volume_ml,
            "product_lot": row.product_lot,
            "protocol_version": row.protocol_version,
        },
    )


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
            problem=PREPARATION_CANCELLED,
        )
    check_if_match(if_match, current_version=row.version)
    if row.verified_at is not None:
        raise Conflict("this dose preparation is already verified", problem=ALREADY_VERIFIED)
    if row.prepared_by_subject == principal.subject:
        raise Forbidden(
            "you prepared this dose; a different pharmacist or an investigator must verify it",
            problem=VERIFIER_IS_PREPARER,
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


def _timing(
    session: Session, protocol: Protocol, subject_id: str, body: InfusionCreate, now: datetime
) -> AdministrationTiming:
    if body.started_at > now:
        raise InvalidInput.at(["body", "started_at"], "is in the future")
    if body.ended_at is not None and body.ended_at < body.started_at:
        raise InvalidInput.at(["body", "ended_at"], "is before started_at")
    previous = [
        row for row in repository.infusions_of(session, subject_id) if row.status == "given"
    ]
    try:
        return classify_administration(
            protocol.infusions,
            protocol.site,
            body.started_at,
            [row.started_at for row in previous if row.started_at is not None],
        )
    except TooManyInfusionsError as error:
        raise Conflict(str(error), problem=INFUSION_COUNT_EXCEEDED) from None
    except InfusionOrderError as error:
        raise InvalidInput.at(["body", "started_at"], str(error)) from None


def _verified_preparation(
    session: Session, protocol: Protocol, subject_id: str, timing: AdministrationTiming
) -> tuple[DosePreparation, WeightMeasurement]:
    """The verified preparation of the infusion and the weight it was dosed with."""
    number = timing.infusion_number
    preparation = repository.preparation_for(session, subject_id, number)
    if preparation is None or preparation.verified_at is None:
        raise Conflict(
            f"infusion {number} needs a dose prepared by a pharmacist and verified by a second"
            " person before it is recorded",
            problem=DOSE_NOT_VERIFIED,
        )
    weight = repository.get_weight(session, preparation.weight_measurement_id)
    assert weight is not None
    if number == 1:
        try:
            validate_weight(
                protocol.dosing.weight,
                weight.weight_kg,
                measured_on=weight.measured_on,
                first_infusion_on=timing.administered_on,
            )
        except (WeightError, InvalidWeightError) as error:
            raise _weight_problem(error) from None
    return preparation, weight


@dataclass(frozen=True)
class GivenDose:
    """What an infusion actually gave: cells, cells/kg and, when recorded, the volumes."""

    cells: Decimal
    per_kg: Decimal
    full_dose: bool
    volume_given_ml: Decimal | None = None
    volume_prepared_ml: Decimal | None = None

    @property
    def interrupted(self) -> bool:
        """Stopped before the whole prepared volume was given."""
        return self.volumes is not None

    @property
    def volumes(self) -> str | None:
        """ "12.5 of 50 mL" for an infusion interrupted short, else None."""
        given, prepared = self.volume_given_ml, self.volume_prepared_ml
        if given is None or prepared is None or given >= prepared:
            return None
        return f"{plain(given)} of {plain(prepared)} mL"


def _dose_given(
    protocol: Protocol, body: InfusionCreate, preparation: DosePreparation, weight_kg: Decimal
) -> GivenDose:
    """The dose given, from the cells recorded or from the volume given of the volume
    prepared (an interrupted infusion), rounded as the protocol rounds doses."""
    rounding = protocol.dosing.rounding.to_dose_rounding()
    number = preparation.infusion_number
    if body.volume_given_ml is None:
        assert body.dose_given_cells is not None
        cells = body.dose_given_cells
    elif preparation.volume_ml is None:
        raise InvalidInput.at(
            ["body", "volume_given_ml"],
            f"the preparation of infusion {number} records no volume: give dose_given_cells,"
            " the cells actually given, instead",
        )
    elif body.volume_given_ml > preparation.volume_ml:
        raise InvalidInput.at(
            ["body", "volume_given_ml"],
            f"{plain(body.volume_given_ml)} mL is more than the {plain(preparation.volume_ml)} mL"
            " prepared"
            f" for infusion {number}",
        )
    else:
        cells = rounding.apply(
            preparation.dose_cells * body.volume_given_ml / preparation.volume_ml
        )
    return GivenDose(
        cells=cells,
        per_kg=rounding.apply(cells / weight_kg),
        full_dose=cells >= preparation.full_dose_cells,
        volume_given_ml=body.volume_given_ml,
        volume_prepared_ml=preparation.volume_ml if body.volume_given_ml is not None else None,
    )


def _window_departure(timing: AdministrationTiming, body: InfusionCreate) -> Departure:
    planned = timing.planned
    return Departure(
        kind="infusion-outside-window",
        planned=planned,
        description=(
            f"infusion {planned.number} given on {timing.administered_on.isoformat()}"
            f" (day {timing.study_day}, {timing.days_from_planned:+d} days), planned on"
            f" {planned.planned_on.isoformat()} (day {planned.study_day}) within"
            f" {planned.window_opens.isoformat()} to {planned.window_closes.isoformat()}"
        ),
        occurred_at=body.started_at,
        site_date=timing.administered_on,
    )


def _short_dose_departure(
    timing: AdministrationTiming,
    preparation: DosePreparation,
    given: GivenDose,
    body: InfusionCreate,
) -> Departure:
    volumes = "" if given.volumes is None else f" ({given.volumes})"
    return Departure(
        kind="partial-dose",
        planned=timing.planned,
        description=(
            f"infusion {timing.infusion_number} gave {plain(given.cells)} of the"
            f" {plain(preparation.dose_cells)} cells prepared{volumes}"
        ),
        occurred_at=body.started_at,
        site_date=timing.administered_on,
    )


def _departures(
    timing: AdministrationTiming,
    preparation: DosePreparation,
    given: GivenDose,
    body: InfusionCreate,
) -> tuple[list[str], list[Departure]]:
    """What the infusion record flags, and the protocol deviations to record with it."""
    flags: list[str] = []
    departures: list[Departure] = []
    if timing.is_deviation:
        flags.append(
            f"given on day {timing.study_day}, {timing.days_from_planned:+d} days from the"
            f" planned day {timing.planned.study_day}: outside the window"
        )
        departures.append(_window_departure(timing, body))
    if given.volumes is not None:
        flags.append(
            f"interrupted: {given.volumes} given ({plain(given.cells)} of"
            f" {plain(preparation.dose_cells)} cells)"
        )
    elif given.cells != preparation.dose_cells:
        flags.append(
            f"dose given {plain(given.cells)} cells differs from the prepared"
            f" {plain(preparation.dose_cells)} cells"
        )
    if given.cells < preparation.dose_cells:
        departures.append(_short_dose_departure(timing, preparation, given, body))
    if body.product_lot != preparation.product_lot:
        flags.append(
            f"product lot {body.product_lot} differs from the prepared lot"
            f" {preparation.product_lot}"
        )
    if body.interruptions:
        flags.append(f"interrupted {len(body.interruptions)} time(s)")
    return flags, departures


@dataclass(frozen=True)
class Dosable:
    """A subject (locked) who may be dosed now, with the trial, protocol and enrolment."""

    subject: Subject
    trial: Trial
    protocol: Protocol
    enrolment: Enrolment


def infusion_to_record(session: Session, *, subject_id: str) -> Dosable:
    """The subject, if an infusion may be recorded for it: enrolled, not withdrawn, not held."""
    subject, trial, protocol = subjects_service.locked_with_protocol(session, subject_id)
    enrolment = cohorts_service.enrolment_to_dose(session, subject_id)
    dose_orders_service.refuse_while_held(session, subject_id, "the infusion is not recorded")
    return Dosable(subject=subject, trial=trial, protocol=protocol, enrolment=enrolment)


@dataclass(frozen=True)
class RecordedInfusion:
    """An infusion stored, the DLT window it opened (or fell in), and its departures from the
    plan, which the caller records as deviations."""

    infusion: Infusion
    window: DltWindow
    departures: list[Departure]
    infusion_number: int


def record_infusion(
    session: Session,
    dosable: Dosable,
    *,
    body: InfusionCreate,
    principal: Principal,
    now: datetime,
) -> RecordedInfusion:
    """Store, audit and publish the infusion, opening the subject's DLT window with the first
    (the caller holds the locks a late fact takes: enrollment.workflows.dosing)."""
    subject, trial, protocol = dosable.subject, dosable.trial, dosable.protocol
    timing = _timing(session, protocol, subject.id, body, now)
    preparation, weight = _verified_preparation(session, protocol, subject.id, timing)
    given = _dose_given(protocol, body, preparation, weight.weight_kg)
    flags, departures = _departures(timing, preparation, given, body)
    row = _infusion_row(subject.id, body, timing, preparation, given, flags, principal, now)
    session.add(row)
    window_row = _dlt_window_for(session, trial, protocol, subject.id, timing.schedule)
    session.flush()
    _audit_infusion(session, row, given, timing, principal)
    _publish_infusion(
        session,
        row,
        given,
        timing,
        subject,
        trial,
        protocol,
        dosable.enrolment,
        window_row,
        preparation,
        body.started_at,
    )
    return RecordedInfusion(
        infusion=row,
        window=window_row,
        departures=[replace(departure, infusion_id=row.id) for departure in departures],
        infusion_number=timing.infusion_number,
    )


def _infusion_row(
    subject_id: str,
    body: InfusionCreate,
    timing: AdministrationTiming,
    preparation: DosePreparation,
    given: GivenDose,
    flags: list[str],
    principal: Principal,
    now: datetime,
) -> Infusion:
    return Infusion(
        subject_id=subject_id,
        infusion_number=timing.infusion_number,
        status="given",
        preparation_id=preparation.id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        site_date=timing.administered_on,
        planned_on=timing.planned.planned_on,
        timing=timing.timing.value,
        dose_given_cells=given.cells,
        dose_given_per_kg=given.per_kg,
        volume_given_ml=given.volume_given_ml,
        volume_prepared_ml=given.volume_prepared_ml,
        full_dose=given.full_dose,
        product_lot=body.product_lot,
        interruptions=[i.model_dump(mode="json") for i in body.interruptions],
        deviation="; ".join(flags) or None,
        deviation_reason=body.deviation_reason,
        recorded_by=principal.audit_name,
        recorded_at=now,
    )


def _audit_infusion(
    session: Session,
    row: Infusion,
    given: GivenDose,
    timing: AdministrationTiming,
    principal: Principal,
) -> None:
    audit.record(
        session,
        actor=principal.audit_name,
        action="infusion.record",
        entity_type="infusion",
        entity_id=str(row.id),
        after={
            "subject_id": row.subject_id,
            "infusion_number": row.infusion_number,
            "started_at": row.started_at,
            "site_date": timing.administered_on,
            "timing": timing.timing.value,
            "dose_given_cells": given.cells,
            "dose_given_per_kg": given.per_kg,
            "volume_given_ml": given.volume_given_ml,
            "volume_prepared_ml": given.volume_prepared_ml,
            "interrupted": given.interrupted,
            "full_dose": given.full_dose,
            "product_lot": row.product_lot,
            "deviation": row.deviation,
            "deviation_reason": row.deviation_reason,
        },
    )


def _publish_infusion(
    session: Session,
    row: Infusion,
    given: GivenDose,
    timing: AdministrationTiming,
    subject: Subject,
    trial: Trial,
    protocol: Protocol,
    enrolment: Enrolment,
    window_row: DltWindow,
    preparation: DosePreparation,
    administered_at: datetime,
) -> None:
    outbox.record_event(
        session,
        InfusionAdministered(
            trial_id=trial.id,
            subject_id=subject.id,
            site_id=subject.site_id,
            infusion_number=row.infusion_number,
            infusions_planned=protocol.infusions.count,
            is_last=timing.is_last,
            administered_at=administered_at,
            dose_level=enrolment.dose_level,
            dose_cells=plain(given.cells),
            first_infusion_on=timing.schedule.first_infusion_on,
            dlt_window_start=window_row.starts_on,
            dlt_window_end=window_row.ends_on,
            deviation=row.deviation,
            dose_cells_per_kg=plain(given.per_kg),
            full_dose=given.full_dose,
            interrupted=given.interrupted,
            volume_given_ml=None if given.volume_given_ml is None else plain(given.volume_given_ml),
            volume_prepared_ml=(
                None if given.volume_prepared_ml is None else plain(given.volume_prepared_ml)
            ),
            percent_of_dose=preparation.percent_of_dose,
        ),
        subject=f"subjects/{subject.id}",
    )


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


def series_weight_of(session: Session, preparation: DosePreparation) -> WeightMeasurement | None:
    """The series' first weight, when a weight measured again re-dosed the preparation."""
    if preparation.series_weight_measurement_id is None:
        return None
    return repository.get_weight(session, preparation.series_weight_measurement_id)


def infusions_given(session: Session, subject_id: str) -> int:
    return repository.given_count(session, subject_id)


def short_infusions(session: Session, protocol: Protocol, subject_id: str) -> list[str]:
    """Infusions the protocol requires in full that were given short (docs/adr/0016)."""
    return [
        f"infusion {infusion.infusion_number} was not given in full"
        f" ({plain(infusion.dose_given_cells or Decimal(0))} of the"
        f" {plain(preparation.full_dose_cells)} cells of the level)"
        for infusion, preparation in repository.short_infusions(
            session, subject_id, protocol.evaluability.full_dose_infusions
        )
    ]


def cancel_pending_preparations(
    session: Session, *, subject_id: str, why: str, actor: str, now: datetime
) -> tuple[int, ...]:
    """Cancel every dose prepared for the subject and not given; the infusion numbers."""
    return _cancel(session, repository.pending_preparations(session, subject_id), why, actor, now)


def _cancel(
    session: Session, preparations: list[DosePreparation], why: str, actor: str, now: datetime
) -> tuple[int, ...]:
    for preparation in preparations:
        preparation.cancelled_at = now
        preparation.cancellation_reason = why
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dose.cancel",
            entity_type="dose_preparation",
            entity_id=str(preparation.id),
            before={"cancelled_at": None},
            after={"cancelled_at": now, "infusion_number": preparation.infusion_number},
            reason=why,
        )
    return tuple(preparation.infusion_number for preparation in preparations)


def _cancel_re_dosed_preparations(
    session: Session, protocol: Protocol, weight: WeightMeasurement, actor: str, now: datetime
) -> tuple[int, ...]:
    """Under the protocol's re-dosing rule, cancel each dose prepared and not given that the
    weight just recorded re-doses: the infusion is prepared again from the new weight."""
    first = _first_given(session, weight.subject_id)
    if protocol.dosing.redose_on_new_weight is None or first is None or first.site_date is None:
        return ()
    first_on = first.site_date
    stale = [
        preparation
        for preparation in repository.pending_preparations(session, weight.subject_id)
        if _dosing_basis(
            session,
            protocol,
            subject_id=weight.subject_id,
            infusion_number=preparation.infusion_number,
            first_on=first_on,
        ).weight.id
        != preparation.weight_measurement_id
    ]
    why = (
        f"re-dosed by the weight of {weight.measured_on.isoformat()}"
        f" ({plain(weight.weight_kg)} kg) under the protocol's re-dosing rule: prepare it again"
    )
    return _cancel(session, stale, why, actor, now)


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
