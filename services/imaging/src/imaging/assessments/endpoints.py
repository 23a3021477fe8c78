"""HTTP API of outcome assessments: record each kind, read, list per subject, void."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from doseline import idempotency, pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse
from doseline.pagination import Page
from imaging.assessments import service
from imaging.assessments.schemas import (
    AssessmentOut,
    BloodGasIn,
    CorrectionIn,
    CtMeasurementIn,
    Kind,
    PulmonaryFunctionIn,
    SgrqIn,
    VoidIn,
    WalkTestIn,
)

router = APIRouter(tags=["assessments"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Writer = Annotated[
    Principal,
    Depends(require_roles(Role.OUTCOMES_ASSESSOR, Role.COORDINATOR, Role.INVESTIGATOR)),
]
CREATED: dict[int | str, dict[str, Any]] = {
    201: {"description": "Recorded; replayed with the same Idempotency-Key"}
}


def _create(
    request: Request,
    session: DbSession,
    principal: Principal,
    key: str | None,
    subject_id: str,
    body: service.Measurement,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = service.record_manual(session, subject_id, body, actor=principal.audit_name)
        return StoredResponse(
            201,
            AssessmentOut.of(row).model_dump(mode="json"),
            {"ETag": etag(row.version), "Location": f"/v1/assessments/{row.id}"},
        )

    return idempotency.idempotent_response(
        session,
        request,
        principal=principal.subject,
        key=key,
        payload=body.model_dump(mode="json"),
        create=create,
    )


@router.post(
    "/v1/subjects/{subject_id}/ct-measurements",
    summary="Record a radiologist's lung and lesion volumes of one chest CT",
    status_code=201,
    response_model=AssessmentOut,
    responses=CREATED,
)
def post_ct_measurement(
    subject_id: str,
    body: CtMeasurementIn,
    request: Request,
    session: DbSession,
    principal: Writer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return _create(request, session, principal, key, subject_id, body)


@router.post(
    "/v1/subjects/{subject_id}/pulmonary-function-tests",
    summary="Record FEV1, FVC, DLCO: predicted, % predicted, z-score, LLN and severity",
    status_code=201,
    response_model=AssessmentOut,
    responses=CREATED,
)
def post_pulmonary_function(
    subject_id: str,
    body: PulmonaryFunctionIn,
    request: Request,
    session: DbSession,
    principal: Writer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return _create(request, session, principal, key, subject_id, body)


@router.post(
    "/v1/subjects/{subject_id}/walk-tests",
    summary="Record a six-minute walk test: distance, % predicted, SpO2, Borg",
    status_code=201,
    response_model=AssessmentOut,
    responses=CREATED,
)
def post_walk_test(
    subject_id: str,
    body: WalkTestIn,
    request: Request,
    session: DbSession,
    principal: Writer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return _create(request, session, principal, key, subject_id, body)


@router.post(
    "/v1/subjects/{subject_id}/blood-gases",
    summary="Record an arterial blood gas: P/F ratio, alveolar PO2, A-a gradient",
    status_code=201,
    response_model=AssessmentOut,
    responses=CREATED,
)
def post_blood_gas(
    subject_id: str,
    body: BloodGasIn,
    request: Request,
    session: DbSession,
    principal: Writer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return _create(request, session, principal, key, subject_id, body)


@router.post(
    "/v1/subjects/{subject_id}/sgrq",
    summary="Record SGRQ or SGRQ-C item responses: Symptoms, Activity, Impacts, Total",
    status_code=201,
    response_model=AssessmentOut,
    responses=CREATED,
)
def post_sgrq(
    subject_id: str,
    body: SgrqIn,
    request: Request,
    session: DbSession,
    principal: Writer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return _create(request, session, principal, key, subject_id, body)


@router.get(
    "/v1/assessments/{assessment_id}",
    summary="One assessment with its inputs, results and visit",
)
def get_assessment(
    assessment_id: uuid.UUID, response: Response, session: DbSession, _: Reader
) -> AssessmentOut:
    row = service.require(session, assessment_id)
    response.headers["ETag"] = etag(row.version)
    return AssessmentOut.of(row)


@router.get(
    "/v1/subjects/{subject_id}/assessments",
    summary="A subject's assessments in the order they were done (voided ones included)",
)
def list_assessments(
    subject_id: str,
    session: DbSession,
    _: Reader,
    kind: Kind | None = None,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> Page[AssessmentOut]:
    return service.page_of_subject(session, subject_id, kind=kind, cursor=cursor, limit=limit)


@router.post(
    "/v1/assessments/{assessment_id}/void",
    summary="Void an assessment entered in error (kept, with the reason; out of every statistic)",
)
def void_assessment(
    assessment_id: uuid.UUID,
    body: VoidIn,
    response: Response,
    session: DbSession,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> AssessmentOut:
    row = service.require(session, assessment_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    service.void(session, row, reason=body.reason, actor=principal.audit_name)
    response.headers["ETag"] = etag(row.version)
    return AssessmentOut.of(row)


@router.post(
    "/v1/assessments/{assessment_id}/corrections",
    summary="Correct a manually recorded assessment: new values, with the reason for the change",
    description="Needs If-Match. Results and visit are derived again; the earlier values stay "
    "in the audit trail. CTs measured from an upload and FHIR results are corrected at their "
    "source (a new upload, a new Observation version).",
)
def correct_assessment(
    assessment_id: uuid.UUID,
    body: CorrectionIn,
    response: Response,
    session: DbSession,
    principal: Writer,
    if_match: IfMatchHeader = None,
) -> AssessmentOut:
    row = service.correct(
        session,
        assessment_id,
        body.values,
        if_match=if_match,
        reason=body.reason,
        actor=principal.audit_name,
    )
    response.headers["ETag"] = etag(row.version)
    return AssessmentOut.of(row)
