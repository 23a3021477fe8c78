"""HTTP API of EHR lab intake (FHIR R4 Observations) and of the proposed adverse events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import DoselineError, NotFound
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from safety.ehr import repository, service
from safety.ehr.models import ProposedAdverseEventRow
from safety.ehr.schemas import AcceptanceIn, IntakeResult, ProposalOut, RejectionIn

router = APIRouter(tags=["ehr intake"])
Integration = Annotated[Principal, Depends(require_roles(Role.EHR_INTEGRATION))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Investigator = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR))]
ACCEPTED_MEDIA = ("application/fhir+json", "application/json")
MAX_BODY_BYTES = 50 * 1024 * 1024


@router.post(
    "/v1/fhir/Observation",
    summary="Receive lab results: one FHIR R4 Observation or a Bundle of them",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "object"}} for media in ACCEPTED_MEDIA},
        }
    },
)
async def receive_observations(
    request: Request, session: DbSession, principal: Integration
) -> IntakeResult:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED_MEDIA:
        raise DoselineError(
            f"send the resource as {' or '.join(ACCEPTED_MEDIA)}, not {media or 'no content type'}",
            status=415,
            slug="unsupported-media-type",
            title="Unsupported media type",
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise DoselineError(
            f"the request body exceeds {MAX_BODY_BYTES} bytes; split the Bundle",
            status=413,
            slug="payload-too-large",
            title="Payload too large",
        )
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DoselineError(
            f"the request body is not valid JSON: {error}",
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
        ) from None
    settings = request.app.state.settings
    # The database work runs on a worker thread: a large Bundle must not stall the event loop.
    return await run_in_threadpool(
        service.intake,
        session,
        payload,
        identifier_key=settings.identifier_hash_key.get_secret_value(),
        actor=principal.audit_name,
        now=datetime.now(UTC),
        principal=principal,
    )


@router.get("/v1/proposed-adverse-events", summary="AEs proposed from lab results, by status")
def list_proposals(
    session: DbSession,
    principal: Reader,
    trial_id: Annotated[str | None, Query(max_length=40)] = None,
    subject_id: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[
        Literal["proposed", "accepted", "rejected", "withdrawn"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> list[ProposalOut]:
    rows = repository.proposals(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        status=status,
        limit=limit,
        principal=principal,
    )
    return [ProposalOut.of(row) for row in rows]


@router.get("/v1/proposed-adverse-events/{proposal_id}", summary="One proposed AE")
def get_proposal(
    proposal_id: uuid.UUID, response: Response, session: DbSession, _: Reader
) -> ProposalOut:
    row = _require(session, proposal_id, lock=False)
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
    row = _require(session, proposal_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    service.accept(session, row, body, actor=principal.audit_name, now=datetime.now(UTC))
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
    row = _require(session, proposal_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    service.reject(
        session, row, reason=body.reason, actor=principal.audit_name, now=datetime.now(UTC)
    )
    response.headers["ETag"] = etag(row.version)
    return ProposalOut.of(row)


def _require(session: Session, proposal_id: uuid.UUID, *, lock: bool) -> ProposedAdverseEventRow:
    row = repository.proposal(session, proposal_id, lock=lock)
    if row is None:
        raise NotFound(f"no proposed adverse event {proposal_id}", slug="proposal-not-found")
    return row
