"""HTTP API for hospital systems: FHIR R4 Observations of lung function, blood gas and 6MWT."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from doseline.auth import Principal, Role, require_roles
from doseline.etags import etag
from doseline.http import DbSession
from imaging.assessments.schemas import AssessmentOut
from imaging.fhir import service
from imaging.settings import ImagingSettings

router = APIRouter(tags=["FHIR"])
EhrSystem = Annotated[Principal, Depends(require_roles(Role.EHR_INTEGRATION))]


@router.post(
    "/v1/fhir/Observation",
    summary="Receive a FHIR R4 Observation (PFT panel, arterial blood gas panel, 6MWT distance)",
    description="Idempotent by Observation.id and meta.versionId: 201 when recorded, 200 when "
    "the delivery was already received (or corrects, voids or is older than the version "
    "recorded). The X-Intake-Action header says which.",
    status_code=201,
    response_model=AssessmentOut,
    responses={200: {"description": "Already received, corrected, voided or ignored"}},
)
def post_observation(
    payload: Annotated[dict[str, Any], Body(description="A FHIR R4 Observation resource")],
    request: Request,
    session: DbSession,
    principal: EhrSystem,
) -> JSONResponse:
    settings: ImagingSettings = request.app.state.settings
    outcome = service.receive(
        session,
        payload,
        identifier_key=settings.identifier_hash_key.get_secret_value(),
        actor=principal.audit_name,
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
