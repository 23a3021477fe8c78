"""HTTP API of EHR lab intake (FHIR R4 Observations) and of the proposed adverse events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import DoselineError
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.fhir.outcomes import FHIR_JSON, fhir_error_responses, of_error, wants_fhir
from doseline.http import DbSession, json_body
from safety.ehr import proposals, responses, service
from safety.ehr.schemas import AcceptanceIn, ConflictOut, LabIntakeOut, ProposalOut, RejectionIn

router = APIRouter(tags=["ehr intake"])
Integration = Annotated[Principal, Depends(require_roles(Role.EHR_INTEGRATION))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Investigator = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR))]
ACCEPTED_MEDIA = (FHIR_JSON, "application/json")
MAX_BODY_BYTES = 50 * 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])


DESCRIPTION = """One FHIR R4 Observation, a DiagnosticReport with its contained results, or a
Bundle (batch, transaction, collection or searchset) of them with the Patients they refer to.

A lone Observation is answered 201 when it is new (graded, proposed, or kept as history before
the AE reporting period) and 200 for a re-delivery or a correction; `X-Intake-Action` says
which. One that cannot be used is a 4xx naming the missing fact: an OperationOutcome for a
client that sends or accepts application/fhir+json, application/problem+json otherwise.

A Bundle is answered 200 with a batch-response Bundle (transaction-response for a transaction):
one entry per entry, in order, each with its status and an OperationOutcome whose issue carries
the outcome as `details.coding` (system `urn:doseline:lab-intake-outcome`). Entries that are not
graded lab results (Patient, Encounter, vital signs, codes no CTCAE term grades) are answered
200 with the reason they were skipped."""


def _intake_route(path: str, summary: str) -> Callable[[F], F]:
    route: Callable[[F], F] = router.post(
        path,
        summary=summary,
        description=DESCRIPTION,
        status_code=201,
        response_model=LabIntakeOut,
        responses={
            200: {
                "description": "A re-delivery or correction; or a Bundle's answer",
                "model": LabIntakeOut,
                "content": {FHIR_JSON: {"schema": {"type": "object"}}},
            },
            **fhir_error_responses(400, 409, 413, 415, 422),
            404: {
                "description": "No enrolled subject of your sites matches the Observation",
                **fhir_error_responses(404)[404],
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {media: {"schema": {"type": "object"}} for media in ACCEPTED_MEDIA},
            }
        },
    )
    return route


@_intake_route("/v1/fhir/Observation", "Receive lab results: an Observation, report or Bundle")
async def receive_observations(
    request: Request, session: DbSession, principal: Integration
) -> Response:
    fhir_client = wants_fhir(request.headers.get("accept"), request.headers.get("content-type"))
    try:
        payload = await json_body(request, media_types=ACCEPTED_MEDIA, max_bytes=MAX_BODY_BYTES)
        # The database work runs on a worker thread: a large Bundle must not stall the event loop.
        return await run_in_threadpool(_receive, request, session, principal, payload)
    except DoselineError as error:
        if not fhir_client:
            raise
        return JSONResponse(of_error(error), status_code=error.status, media_type=FHIR_JSON)


@_intake_route("/v1/fhir", "Receive a FHIR Bundle or DiagnosticReport of lab results")
async def receive_bundle(request: Request, session: DbSession, principal: Integration) -> Response:
    return await receive_observations(request, session, principal)


def _receive(request: Request, session: Session, principal: Principal, payload: Any) -> Response:
    settings = request.app.state.settings
    reply = service.intake(
        session,
        payload,
        identifier_key=settings.identifier_hash_key.get_secret_value(),
        actor=principal.audit_name,
        sender=principal.subject,
        now=datetime.now(UTC),
        can_access_site=principal.can_access_site,
    )
    if reply.response_type is not None:
        return JSONResponse(
            responses.response_bundle(reply.response_type, reply.answers),
            status_code=200,
            media_type=FHIR_JSON,
        )
    [answer] = reply.answers
    refused = responses.refusal(answer)
    if refused is not None:
        raise refused
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=answer.status_code,
        headers={"X-Intake-Action": answer.outcome},
    )


@router.get(
    "/v1/lab-intake-conflicts",
    summary="Observation versions received again with different content, kept for review",
)
def list_conflicts(
    request: Request,
    response: Response,
    session: DbSession,
    principal: Reader,
    subject_id: Annotated[str | None, Query(max_length=80)] = None,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> list[ConflictOut]:
    page = service.conflict_page(
        session, subject_id=subject_id, cursor=cursor, limit=limit, principal=principal
    )
    response.headers.update(pagination.next_link(request, page.next_cursor))
    return page.items


@router.get("/v1/proposed-adverse-events", summary="AEs proposed from lab results, by status")
def list_proposals(
    request: Request,
    response: Response,
    session: DbSession,
    principal: Reader,
    trial_id: Annotated[str | None, Query(max_length=40)] = None,
    subject_id: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[
        Literal["proposed", "accepted", "rejected", "withdrawn"] | None, Query()
    ] = None,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> list[ProposalOut]:
    page = service.proposal_page(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        status=status,
        cursor=cursor,
        limit=limit,
        principal=principal,
    )
    response.headers.update(pagination.next_link(request, page.next_cursor))
    return page.items


@router.get("/v1/proposed-adverse-events/{proposal_id}", summary="One proposed AE")
def get_proposal(
    proposal_id: uuid.UUID, response: Response, session: DbSession, _: Reader
) -> ProposalOut:
    row = service.require_proposal(session, proposal_id, lock=False)
    response.headers["ETag"] = etag(row.version)
    return ProposalOut.of(row)


@router.post(
    "/v1/proposed-adverse-events/{proposal_id}/acceptance",
    summary="Accept a proposed AE: it becomes a reported AE (the proposed grade kept beside)",
)
def accept_proposal(
    proposal_id: uuid.UUID,
    body: AcceptanceIn,
    response: Response,
    session: DbSession,
    principal: Investigator,
    if_match: IfMatchHeader = None,
) -> ProposalOut:
    row = service.require_proposal(session, proposal_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    proposals.accept(session, row, body, actor=principal.audit_name, now=datetime.now(UTC))
    response.headers["ETag"] = etag(row.version)
    return ProposalOut.of(row)


@router.post(
    "/v1/proposed-adverse-events/{proposal_id}/rejection",
    summary="Reject a proposed AE, with the reason",
)
def reject_proposal(
    proposal_id: uuid.UUID,
    body: RejectionIn,
    response: Response,
    session: DbSession,
    principal: Investigator,
    if_match: IfMatchHeader = None,
) -> ProposalOut:
    row = service.require_proposal(session, proposal_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    proposals.reject(
        session, row, reason=body.reason, actor=principal.audit_name, now=datetime.now(UTC)
    )
    response.headers["ETag"] = etag(row.version)
    return ProposalOut.of(row)
