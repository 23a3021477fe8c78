"""HTTP routes of screening: record a screening, list screen failures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from enrollment.screening import service
from enrollment.screening.models import Screening
from enrollment.screening.schemas import ScreeningCreate, ScreeningOut, SubjectFactsOut
from enrollment.subjects.scope import visible
from enrollment.workflows import screening as screening_workflow

router = APIRouter(tags=["screening"])

Screener = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.INVESTIGATOR))]
Investigator = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


def screening_out(row: Screening) -> ScreeningOut:
    return ScreeningOut(
        id=row.id,
        subject_id=row.subject_id,
        screened_on=row.screened_on,
        status=row.status,
        eligible=row.eligible,
        reasons=row.reasons,
        subject_facts=SubjectFactsOut(
            sex=row.sex,
            birth_date=row.birth_date,
            height_cm=row.height_cm,
        ),
        protocol_version=row.protocol_version,
        protocol_hash=row.protocol_hash,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        signed_off_by=row.signed_off_by,
        signed_off_at=row.signed_off_at,
    )


@router.post(
    "/v1/subjects/{subject_id}/screenings",
    status_code=status.HTTP_201_CREATED,
    response_model=ScreeningOut,
    summary="Record a screening: every criterion answered; eligible, ineligible or incomplete",
)
def record_screening(
    subject_id: str,
    body: ScreeningCreate,
    request: Request,
    session: DbSession,
    principal: Screener,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = screening_workflow.record_screening(
            session,
            subject_id=subject_id,
            screened_on_day=body.screened_on,
            answers=body.answers,
            facts=body.subject_facts,
            principal=principal,
            now=datetime.now(UTC),
        )
        return StoredResponse(
            201, screening_out(row).model_dump(mode="json"), {"ETag": etag(row.version)}
        )

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.post(
    "/v1/subjects/{subject_id}/screenings/{screening_id}/sign-off",
    response_model=ScreeningOut,
    summary="Investigator sign-off of the eligibility verdict (If-Match); enrolment needs it",
)
def sign_off(
    subject_id: str,
    screening_id: uuid.UUID,
    session: DbSession,
    principal: Investigator,
    if_match: IfMatchHeader = None,
) -> JSONResponse:
    row = service.sign_off(
        session,
        subject_id=subject_id,
        screening_id=screening_id,
        if_match=if_match,
        principal=principal,
        now=datetime.now(UTC),
    )
    return JSONResponse(
        screening_out(row).model_dump(mode="json"), headers={"ETag": etag(row.version)}
    )


@router.get(
    "/v1/trials/{trial_id}/screen-failures",
    response_model=list[ScreeningOut],
    summary="Every screening that found a subject ineligible, with its reasons",
)
def screen_failures(trial_id: str, session: DbSession, principal: Reader) -> list[ScreeningOut]:
    rows = service.screen_failures(session, trial_id=trial_id)
    return [screening_out(row) for row in visible(session, principal, trial_id, rows, "subject_id")]
