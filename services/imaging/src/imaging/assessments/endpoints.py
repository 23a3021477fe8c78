"""HTTP API of outcome assessments: record each kind, read, list per subject, void."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from doseline import idempotency, pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import Conflict, InvalidInput
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse
from doseline.pagination import Page
from imaging.assessments import derivation, service
from imaging.assessments.derivation import Derived
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
from imaging.protocols import service as protocols
from imaging.schedule import repository as schedule_repository
from imaging.schedule import service as schedule_service
from imaging.subjects import service as subjects
from imaging.subjects.facts import FactDisagreement, PersonFacts

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
    body: BaseModel,
    derive: Callable[[], Derived],
) -> JSONResponse:
    performed_at = body.performed_at  # type: ignore[attr-defined]

    def create() -> StoredResponse:
        row = service.record(
            session,
            subject_id=subject_id,
            performed_at=performed_at,
            derived=derive(),
            source="manual",
            actor=principal.audit_name,
        )
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


def _references(session: DbSession, subject_id: str) -> schedule_service.ReferenceChoice:
    subject = subjects.require_known(session, subject_id)
    return schedule_service.references_of(
        schedule_repository.trial_settings(session, subject.trial_id)
    )


def _person(
    session: DbSession,
    subject_id: str,
    body: PulmonaryFunctionIn | WalkTestIn,
    location: Sequence[str] = ("body",),
) -> PersonFacts:
    """The body's sex, age and height completed and checked with those recorded at screening."""
    try:
        return subjects.person_facts(
            session,
            subject_id,
            sex=body.sex,
            age_years=body.age_years,
            height_cm=body.height_cm,
            performed_at=body.performed_at,
        )
    except FactDisagreement as error:
        raise InvalidInput.at(
            [*location, error.field],
            str(error),
            slug="subject-fact-disagrees",
            title="A fact about the subject disagrees with screening",
        ) from None


def _pulmonary_function(
    session: DbSession,
    subject_id: str,
    body: PulmonaryFunctionIn,
    location: Sequence[str] = ("body",),
) -> Derived:
    facts = _person(session, subject_id, body, location)
    return derivation.pulmonary_function(body, _references(session, subject_id), facts)


def _walk_test(
    session: DbSession, subject_id: str, body: WalkTestIn, location: Sequence[str] = ("body",)
) -> Derived:
    facts = _person(session, subject_id, body, location)
    subject = subjects.require_known(session, subject_id)
    course = protocols.walk_course_length_m(
        session,
        subject.trial_id,
        subject.site_id,
        subjects.site_day(body.performed_at, subject.site_time_zone),
    )
    return derivation.walk_test(body, _references(session, subject_id), facts, course)


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
    return _create(
        request, session, principal, key, subject_id, body,
        lambda: derivation.ct_measurement(body),
    )  # fmt: skip


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
    return _create(
        request, session, principal, key, subject_id, body,
        lambda: _pulmonary_function(session, subject_id, body),
    )  # fmt: skip


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
    return _create(
        request, session, principal, key, subject_id, body,
        lambda: _walk_test(session, subject_id, body),
    )  # fmt: skip


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
    return _create(
        request, session, principal, key, subject_id, body,
        lambda: derivation.blood_gas_sample(body),
    )  # fmt: skip


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
    return _create(
        request, session, principal, key, subject_id, body,
        lambda: derivation.sgrq_questionnaire(body),
    )  # fmt: skip


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


def _corrected(
    session: DbSession, row_kind: str, subject_id: str, values: dict[str, Any]
) -> tuple[datetime, Derived]:
    models: dict[str, type[BaseModel]] = {
        "ct": CtMeasurementIn,
        "pft": PulmonaryFunctionIn,
        "walk": WalkTestIn,
        "blood_gas": BloodGasIn,
        "sgrq": SgrqIn,
    }
    try:
        body = models[row_kind].model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at(
            ["body", "values", *(str(part) for part in first["loc"])], first["msg"]
        ) from None
    performed_at: datetime = body.performed_at  # type: ignore[attr-defined]
    if isinstance(body, CtMeasurementIn):
        return performed_at, derivation.ct_measurement(body)
    if isinstance(body, PulmonaryFunctionIn):
        return performed_at, _pulmonary_function(session, subject_id, body, ("body", "values"))
    if isinstance(body, WalkTestIn):
        return performed_at, _walk_test(session, subject_id, body, ("body", "values"))
    if isinstance(body, BloodGasIn):
        return performed_at, derivation.blood_gas_sample(body)
    if isinstance(body, SgrqIn):
        return performed_at, derivation.sgrq_questionnaire(body)
    raise InvalidInput.at(["body", "values"], f"no correction for {row_kind} assessments")


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
    row = service.require(session, assessment_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    if row.source != "manual":
        raise Conflict(
            f"this assessment came from {row.source!r}; correct it at its source "
            "(upload the corrected segmentation, or send a new Observation version)"
        )
    if row.status == "voided":
        raise Conflict("this assessment is voided; record a new one instead")
    performed_at, derived = _corrected(session, row.kind, row.subject_id, body.values)
    service.supersede(
        session,
        row,
        performed_at=performed_at,
        derived=derived,
        actor=principal.audit_name,
        reason=body.reason,
    )
    response.headers["ETag"] = etag(row.version)
    return AssessmentOut.of(row)
