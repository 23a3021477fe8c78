"""HTTP routes of subjects: register (study id issued), read, record consent, withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from doseline.identity import hospital_id_hash
from doseline.pagination import Page
from enrollment.subjects import service
from enrollment.subjects.models import Subject
from enrollment.subjects.schemas import (
    ConsentUpdate,
    SubjectCreate,
    SubjectOut,
    WithdrawalCreate,
    WithdrawalOut,
)
from enrollment.workflows import subjects as subject_workflow

router = APIRouter(tags=["subjects"])

Coordinator = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.INVESTIGATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
# The service narrows a coordinator to lost_to_follow_up; every other reason is an investigator's.
WithdrawalRecorder = Annotated[
    Principal, Depends(require_roles(Role.INVESTIGATOR, Role.COORDINATOR))
]


STUDY_ID_ORDER = pagination.Keyset(number=int)


def subject_out(subject: Subject) -> SubjectOut:
    return SubjectOut(
        id=subject.id,
        trial_id=subject.trial_id,
        site_id=subject.site_id,
        number=subject.number,
        status=subject.status,
        consent_signed_on=subject.consent_signed_on,
        registered_at=subject.registered_at,
    )


@router.post(
    "/v1/trials/{trial_id}/subjects",
    status_code=status.HTTP_201_CREATED,
    response_model=SubjectOut,
    summary="Register a subject; the system issues the study subject id",
)
def register_subject(
    trial_id: str,
    body: SubjectCreate,
    request: Request,
    session: DbSession,
    principal: Coordinator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    settings = request.app.state.settings

    def create() -> StoredResponse:
        subject = service.register_subject(
            session,
            trial_id=trial_id,
            site_id=body.site_id,
            hospital_system=body.hospital_identifier.system,
            hospital_identifier=body.hospital_identifier.value,
            identifier_key=settings.identifier_hash_key.get_secret_value(),
            principal=principal,
            now=datetime.now(UTC),
        )
        return StoredResponse(
            201,
            subject_out(subject).model_dump(mode="json"),
            {"ETag": etag(subject.version), "Location": f"/v1/subjects/{subject.id}"},
        )

    return idempotent_response(
        session,
        request,
        key=key,
        principal=principal.subject,
        # The stored request fingerprint must not be computable from the MRN alone either.
        payload={
            "site_id": body.site_id,
            "hospital_id_hash": hospital_id_hash(
                settings.identifier_hash_key.get_secret_value(),
                system=body.hospital_identifier.system,
                value=body.hospital_identifier.value,
            ),
        },
        create=create,
    )


@router.get(
    "/v1/trials/{trial_id}/subjects",
    response_model=Page[SubjectOut],
    summary="Subjects of a trial, in study-id order",
)
def list_subjects(
    trial_id: str,
    session: DbSession,
    principal: Reader,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
    cursor: pagination.CursorQuery = None,
) -> Page[SubjectOut]:
    (after,) = STUDY_ID_ORDER.read(cursor) or (0,)
    rows = service.subjects_of(
        session, trial_id=trial_id, principal=principal, after=after, limit=limit + 1
    )
    page = STUDY_ID_ORDER.page(rows, limit=limit, key=lambda subject: (subject.number,))
    return page.shown_as(subject_out)


@router.get("/v1/subjects/{subject_id}", response_model=SubjectOut, summary="A subject")
def get_subject(subject_id: str, session: DbSession, _: Reader) -> JSONResponse:
    subject = service.get_subject(session, subject_id)
    return JSONResponse(
        subject_out(subject).model_dump(mode="json"), headers={"ETag": etag(subject.version)}
    )


@router.patch(
    "/v1/subjects/{subject_id}",
    response_model=SubjectOut,
    summary="Record or correct the consent date (If-Match; a reason when correcting)",
)
def record_consent(
    subject_id: str,
    body: ConsentUpdate,
    session: DbSession,
    principal: Coordinator,
    if_match: IfMatchHeader = None,
) -> JSONResponse:
    subject = subject_workflow.record_consent(
        session,
        subject_id=subject_id,
        consent_signed_on=body.consent_signed_on,
        reason=body.reason,
        if_match=if_match,
        principal=principal,
        now=datetime.now(UTC),
    )
    return JSONResponse(
        subject_out(subject).model_dump(mode="json"), headers={"ETag": etag(subject.version)}
    )


@router.post(
    "/v1/subjects/{subject_id}/withdrawal",
    status_code=status.HTTP_201_CREATED,
    response_model=WithdrawalOut,
    summary=(
        "Withdraw or discontinue an enrolled subject (If-Match): no further dose, evaluability"
        " re-judged, escalation state recomputed"
    ),
)
def withdraw_subject(
    subject_id: str,
    body: WithdrawalCreate,
    request: Request,
    session: DbSession,
    principal: WithdrawalRecorder,
    if_match: IfMatchHeader = None,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        done = subject_workflow.withdraw_subject(
            session,
            subject_id=subject_id,
            reason=body.reason,
            effective_on=body.effective_on,
            details=body.details,
            safety_follow_up=body.safety_follow_up,
            if_match=if_match,
            principal=principal,
            now=datetime.now(UTC),
        )
        out = WithdrawalOut(
            subject_id=subject_id,
            status=done.subject.status,
            reason=done.withdrawal.reason,
            effective_on=done.withdrawal.effective_on,
            details=done.withdrawal.details,
            safety_follow_up=done.withdrawal.safety_follow_up,
            recorded_by=done.withdrawal.recorded_by,
            recorded_at=done.withdrawal.recorded_at,
            cancelled_preparations=list(done.cancelled_preparations),
            dlt_evaluability=done.judgement.status.value,
            dlt_evaluability_reason=done.judgement.reason,
            replacement_slot_opened=done.judgement.replacement_slot_opened,
        )
        return StoredResponse(
            201, out.model_dump(mode="json"), {"ETag": etag(done.subject.version)}
        )

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )
