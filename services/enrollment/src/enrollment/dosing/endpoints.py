"""HTTP routes of dosing: weights, dose preparation and verification, infusion records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from enrollment.dosing import service
from enrollment.dosing.models import DosePreparation, Infusion
from enrollment.dosing.schemas import (
    InfusionCorrection,
    InfusionCreate,
    InfusionOut,
    InfusionPlanOut,
    Interruption,
    PlannedInfusionOut,
    PreparationCreate,
    PreparationOut,
    WeightCreate,
    WeightOut,
)
from enrollment.workflows import dosing as dosing_workflow

router = APIRouter(tags=["dosing"])

WeightRecorder = Annotated[
    Principal,
    Depends(require_roles(Role.COORDINATOR, Role.PHARMACIST, Role.INVESTIGATOR)),
]
Pharmacist = Annotated[Principal, Depends(require_roles(Role.PHARMACIST))]
Verifier = Annotated[Principal, Depends(require_roles(Role.PHARMACIST, Role.INVESTIGATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


def preparation_out(session: Session, row: DosePreparation) -> PreparationOut:
    weight = service.weight_of(session, row)
    series = service.series_weight_of(session, row)
    return PreparationOut(
        id=row.id,
        subject_id=row.subject_id,
        infusion_number=row.infusion_number,
        dose_level=row.dose_level,
        per_kg_dose=row.per_kg_dose,
        weight_kg=weight.weight_kg,
        weight_measured_on=weight.measured_on,
        dose_cells=row.dose_cells,
        unrounded_cells=row.unrounded_cells,
        capped=row.capped,
        full_dose_cells=row.full_dose_cells,
        percent_of_dose=row.percent_of_dose,
        dose_order_id=row.dose_order_id,
        series_weight_kg=None if series is None else series.weight_kg,
        series_weight_measured_on=None if series is None else series.measured_on,
        dose_basis=row.dose_basis,
        volume_ml=row.volume_ml,
        product_lot=row.product_lot,
        protocol_version=row.protocol_version,
        prepared_by=row.prepared_by,
        prepared_at=row.prepared_at,
        verified_by=row.verified_by,
        verified_at=row.verified_at,
    )


def infusion_out(row: Infusion) -> InfusionOut:
    return InfusionOut(
        id=row.id,
        subject_id=row.subject_id,
        infusion_number=row.infusion_number,
        started_at=row.started_at,
        ended_at=row.ended_at,
        site_date=row.site_date,
        planned_on=row.planned_on,
        timing=row.timing,
        dose_given_cells=row.dose_given_cells,
        dose_given_per_kg=row.dose_given_per_kg,
        volume_given_ml=row.volume_given_ml,
        volume_prepared_ml=row.volume_prepared_ml,
        interrupted=(
            row.volume_given_ml is not None
            and row.volume_prepared_ml is not None
            and row.volume_given_ml < row.volume_prepared_ml
        ),
        full_dose=row.full_dose,
        product_lot=row.product_lot,
        interruptions=[Interruption.model_validate(i) for i in row.interruptions],
        deviation=row.deviation,
        deviation_reason=row.deviation_reason,
        recorded_by=row.recorded_by,
    )


@router.post(
    "/v1/subjects/{subject_id}/weights",
    status_code=status.HTTP_201_CREATED,
    response_model=WeightOut,
    summary="Record a body weight (kg) and the day it was measured",
)
def record_weight(
    subject_id: str,
    body: WeightCreate,
    request: Request,
    session: DbSession,
    principal: WeightRecorder,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = dosing_workflow.record_weight(
            session,
            subject_id=subject_id,
            weight_kg=body.weight_kg,
            measured_on=body.measured_on,
            principal=principal,
            now=datetime.now(UTC),
        )
        out = WeightOut(
            id=row.id,
            subject_id=row.subject_id,
            weight_kg=row.weight_kg,
            measured_on=row.measured_on,
            recorded_by=row.recorded_by,
        )
        return StoredResponse(201, out.model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.post(
    "/v1/subjects/{subject_id}/dose-preparations",
    status_code=status.HTTP_201_CREATED,
    response_model=PreparationOut,
    summary="Prepare the dose of one infusion from the weight (first of two people)",
)
def prepare_dose(
    subject_id: str,
    body: PreparationCreate,
    request: Request,
    session: DbSession,
    principal: Pharmacist,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = service.prepare_dose(
            session, subject_id=subject_id, body=body, principal=principal, now=datetime.now(UTC)
        )
        return StoredResponse(
            201,
            preparation_out(session, row).model_dump(mode="json"),
            {"ETag": etag(row.version)},
        )

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get(
    "/v1/dose-preparations/{preparation_id}",
    response_model=PreparationOut,
    summary="A dose preparation",
)
def get_preparation(preparation_id: uuid.UUID, session: DbSession, _: Reader) -> JSONResponse:
    row = service.get_preparation(session, preparation_id)
    return JSONResponse(
        preparation_out(session, row).model_dump(mode="json"), headers={"ETag": etag(row.version)}
    )


@router.post(
    "/v1/dose-preparations/{preparation_id}/verification",
    response_model=PreparationOut,
    summary="Verify a prepared dose (a second person; If-Match)",
)
def verify_preparation(
    preparation_id: uuid.UUID,
    session: DbSession,
    principal: Verifier,
    if_match: IfMatchHeader = None,
) -> JSONResponse:
    row = service.verify_preparation(
        session,
        preparation_id=preparation_id,
        if_match=if_match,
        principal=principal,
        now=datetime.now(UTC),
    )
    return JSONResponse(
        preparation_out(session, row).model_dump(mode="json"), headers={"ETag": etag(row.version)}
    )


@router.post(
    "/v1/subjects/{subject_id}/infusions",
    status_code=status.HTTP_201_CREATED,
    response_model=InfusionOut,
    summary=(
        "Record an infusion given (late ones are flagged as deviations, an interrupted one"
        " gives the volume given; refused while the dose is held, a fifth is refused)"
    ),
)
def record_infusion(
    subject_id: str,
    body: InfusionCreate,
    request: Request,
    session: DbSession,
    principal: Pharmacist,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = dosing_workflow.record_infusion(
            session, subject_id=subject_id, body=body, principal=principal, now=datetime.now(UTC)
        )
        return StoredResponse(
            201, infusion_out(row).model_dump(mode="json"), {"ETag": etag(row.version)}
        )

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.patch(
    "/v1/infusions/{infusion_id}",
    response_model=InfusionOut,
    summary="Correct an infusion record (If-Match and a reason for change)",
)
def correct_infusion(
    infusion_id: uuid.UUID,
    body: InfusionCorrection,
    session: DbSession,
    principal: Pharmacist,
    if_match: IfMatchHeader = None,
) -> JSONResponse:
    row = service.correct_infusion(
        session, infusion_id=infusion_id, body=body, if_match=if_match, principal=principal
    )
    return JSONResponse(
        infusion_out(row).model_dump(mode="json"), headers={"ETag": etag(row.version)}
    )


@router.get(
    "/v1/infusions/{infusion_id}",
    response_model=InfusionOut,
    summary="An infusion record (with its ETag, for corrections)",
)
def get_infusion(infusion_id: uuid.UUID, session: DbSession, _: Reader) -> JSONResponse:
    row = service.get_infusion(session, infusion_id)
    return JSONResponse(
        infusion_out(row).model_dump(mode="json"), headers={"ETag": etag(row.version)}
    )


@router.get(
    "/v1/subjects/{subject_id}/infusions",
    response_model=InfusionPlanOut,
    summary="The infusion schedule (given, due, missed, upcoming) and the records",
)
def infusion_plan(subject_id: str, session: DbSession, _: Reader) -> InfusionPlanOut:
    plan = service.infusion_plan(session, subject_id=subject_id, now=datetime.now(UTC))
    return InfusionPlanOut(
        subject_id=subject_id,
        first_infusion_on=plan.first_infusion_on,
        dlt_window_start=plan.window.starts_on if plan.window else None,
        dlt_window_end=plan.window.ends_on if plan.window else None,
        dlt_window_status=plan.window.status if plan.window else None,
        dlt_evaluable=plan.window.evaluable if plan.window else None,
        dlt_evaluability_reason=plan.window.reason if plan.window else None,
        infusions=[
            PlannedInfusionOut(
                number=planned.number,
                study_day=planned.study_day,
                planned_on=planned.planned_on,
                window_opens=planned.window_opens,
                window_closes=planned.window_closes,
                state=state.value,
            )
            for planned, state in plan.states
        ],
        recorded=[infusion_out(r) for r in plan.records],
    )
