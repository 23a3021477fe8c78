"""HTTP API for hospital systems: FHIR R4 Observations and Bundles of lung function, gas, 6MWT."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from doseline.auth import Principal, Role, require_roles
from doseline.errors import DoselineError
from doseline.etags import etag
from doseline.fhir.outcomes import FHIR_JSON, fhir_error_responses, of_error, wants_fhir
from doseline.http import DbSession, json_body
from imaging.assessments.schemas import AssessmentOut
from imaging.fhir import service
from imaging.settings import ImagingSettings

router = APIRouter(tags=["FHIR"])
EhrSystem = Annotated[Principal, Depends(require_roles(Role.EHR_INTEGRATION))]
ACCEPTED_MEDIA = (FHIR_JSON, "application/json")
MAX_BODY_BYTES = 50 * 1024 * 1024
# An unknown subject is a 409 here (it may not have arrived yet), never a 404.
IMAGING_FHIR_ERRORS = fhir_error_responses(400, 409, 413, 415, 422)

DESCRIPTION = """One FHIR R4 Observation, or a Bundle (batch, transaction, collection or
searchset) of them with the Patients and panel members they refer to.

An Observation is idempotent by id and version (meta.versionId, else meta.lastUpdated, else its
content): 201 when recorded, 200 when the delivery was already received (or corrects, voids or is
older than the version recorded); the X-Intake-Action header says which. One that cannot be used
is a 4xx: an OperationOutcome for a client that sends or accepts application/fhir+json, an
application/problem+json otherwise.

A Bundle is answered 200 with a batch-response (transaction-response for a transaction) Bundle:
one entry per entry, in order, each with its status and an OperationOutcome. Entries that are not
outcome Observations (Patient, other results, panel members recorded with their panel) are
answered 200 with the reason they were skipped."""


@router.post(
    "/v1/fhir/Observation",
    summary="Receive a FHIR R4 Observation or a Bundle of them (PFT, spirometry, blood gas, 6MWT)",
    description=DESCRIPTION,
    status_code=201,
    response_model=AssessmentOut,
    responses={
        200: {
            "description": "Already received, corrected, voided or ignored; or a Bundle's answer",
            "model": AssessmentOut,
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
        },
        **IMAGING_FHIR_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "object"}} for media in ACCEPTED_MEDIA},
        }
    },
)
async def post_observation(request: Request, session: DbSession, principal: EhrSystem) -> Response:
    fhir_client = wants_fhir(request.headers.get("accept"), request.headers.get("content-type"))
    try:
        payload = await json_body(request, media_types=ACCEPTED_MEDIA, max_bytes=MAX_BODY_BYTES)
        return await run_in_threadpool(_receive, request, session, principal, payload)
    except DoselineError as error:
        if not fhir_client:
            raise
        return JSONResponse(of_error(error), status_code=error.status, media_type=FHIR_JSON)


@router.post(
    "/v1/fhir",
    summary="Receive a FHIR R4 Bundle (batch, transaction, collection, searchset) of outcomes",
    description=DESCRIPTION,
    responses={
        200: {
            "description": "The batch-response (or transaction-response) Bundle",
            "content": {FHIR_JSON: {"schema": {"type": "object"}}},
        },
        **IMAGING_FHIR_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "object"}} for media in ACCEPTED_MEDIA},
        }
    },
)
async def post_bundle(request: Request, session: DbSession, principal: EhrSystem) -> Response:
    return await post_observation(request, session, principal)


def _receive(request: Request, session: Any, principal: Principal, payload: Any) -> Response:
    settings: ImagingSettings = request.app.state.settings
    key = settings.identifier_hash_key.get_secret_value()
    if isinstance(payload, dict) and payload.get("resourceType") == "Bundle":
        answer = service.receive_bundle(
            session,
            payload,
            identifier_key=key,
            actor=principal.audit_name,
            sender=principal.subject,
            can_access_site=principal.can_access_site,
        )
        return JSONResponse(answer, status_code=200, media_type=FHIR_JSON)
    # One Observation: its savepoint keeps the request's transaction usable after a refusal.
    with session.begin_nested():
        outcome = service.receive(
            session,
            payload,
            identifier_key=key,
            actor=principal.audit_name,
            sender=principal.subject,
            can_access_site=principal.can_access_site,
        )
    row = outcome.assessment
    session.flush()
    return JSONResponse(
        AssessmentOut.of(row).model_dump(mode="json"),
        status_code=201 if outcome.created else 200,
        headers={
            "ETag": etag(row.version),
            "Location": f"/v1/assessments/{row.id}",
            "X-Intake-Action": outcome.action,
        },
    )
