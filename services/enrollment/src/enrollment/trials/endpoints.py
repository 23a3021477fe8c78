"""HTTP routes of trials: create from a protocol document, read, amend the protocol."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from enrollment.trials import service
from enrollment.trials.schemas import ProtocolAmendment, ProtocolVersionOut, TrialCreate, TrialOut
from enrollment.workflows import trials as trial_workflow

router = APIRouter(prefix="/v1/trials", tags=["trials"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


def trial_out(view: service.TrialView) -> TrialOut:
    trial, protocol, version = view.trial, view.protocol, view.version
    return TrialOut(
        id=trial.id,
        site=trial.site,
        time_zone=trial.time_zone,
        status=trial.status,
        mtd=trial.mtd,
        protocol=ProtocolVersionOut(
            protocol_id=version.protocol_id,
            version=version.version,
            content_hash=version.content_hash,
            loaded_at=version.loaded_at,
            loaded_by=version.loaded_by,
        ),
        enrolment_cap=protocol.enrolment.cap,
        dose_levels=len(protocol.dose_escalation.dose_levels),
        design_variant=protocol.dose_escalation.design_variant,
        created_at=trial.created_at,
        completed_at=trial.completed_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TrialOut,
    summary="Create a trial from a protocol document (YAML) or a shipped protocol",
    responses={404: {"description": "No shipped protocol has that name"}},
)
def create_trial(
    body: TrialCreate,
    request: Request,
    session: DbSession,
    principal: Admin,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        document = (
            body.protocol_yaml
            if body.protocol_yaml is not None
            else service.read_shipped_protocol(str(body.shipped_protocol))
        )
        trial = trial_workflow.create_trial(
            session, document=document, actor=principal.audit_name, now=datetime.now(UTC)
        )
        return StoredResponse(
            201,
            trial_out(service.view(session, trial)).model_dump(mode="json"),
            {"ETag": etag(trial.version), "Location": f"/v1/trials/{trial.id}"},
        )

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get("", response_model=list[TrialOut], summary="List trials, in id order")
def list_trials(
    request: Request,
    response: Response,
    session: DbSession,
    _: Reader,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> list[TrialOut]:
    page = service.trial_page(session, cursor=cursor, limit=limit)
    response.headers.update(pagination.next_link(request, page.next_cursor))
    return [trial_out(view) for view in page.items]


@router.get("/{trial_id}", response_model=TrialOut, summary="A trial and its protocol version")
def get_trial(trial_id: str, session: DbSession, _: Reader) -> JSONResponse:
    trial = service.get_trial(session, trial_id)
    return JSONResponse(
        trial_out(service.view(session, trial)).model_dump(mode="json"),
        headers={"ETag": etag(trial.version)},
    )


@router.put(
    "/{trial_id}/protocol",
    response_model=TrialOut,
    summary="Amend the trial's protocol: a new protocol version (If-Match and a reason)",
)
def amend_protocol(
    trial_id: str,
    body: ProtocolAmendment,
    session: DbSession,
    principal: Admin,
    if_match: IfMatchHeader = None,
) -> JSONResponse:
    trial = service.get_trial(session, trial_id, for_update=True)
    check_if_match(if_match, current_version=trial.version)
    trial_workflow.amend_protocol(
        session,
        trial=trial,
        document=body.protocol_yaml,
        reason=body.reason,
        actor=principal.audit_name,
        now=datetime.now(UTC),
        effective_from=body.effective_from,
    )
    session.flush()
    return JSONResponse(
        trial_out(service.view(session, trial)).model_dump(mode="json"),
        headers={"ETag": etag(trial.version)},
    )
