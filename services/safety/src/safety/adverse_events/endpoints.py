"""HTTP API of adverse events: report, follow up, read, SAE clock, grade disagreements, and
the DLT rules' assessments of an AE with the signed adjudication of its DLT."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from doseline import audit, idempotency, pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse
from doseline.pagination import Page
from safety.adjudication.schemas import AdjudicationIn, DltAssessmentOut, DltOut
from safety.adverse_events import service
from safety.adverse_events.schemas import (
    AdverseEventContent,
    AdverseEventFollowUp,
    AdverseEventIn,
    AdverseEventOut,
    AuditEntryOut,
    GradeDisagreementOut,
    SponsorReportIn,
)
from safety.grading_assistance import service as assistance
from safety.subjects.scope import require_visible_subject

router = APIRouter(tags=["adverse events"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Reporter = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR, Role.COORDINATOR))]
SafetyPhysician = Annotated[Principal, Depends(require_roles(Role.SAFETY_PHYSICIAN))]


@router.post(
    "/v1/adverse-events",
    status_code=status.HTTP_201_CREATED,
    summary="Report an adverse event (CTCAE term, grade, seriousness, attribution, outcome)",
    response_model=AdverseEventOut,
)
def report_adverse_event(
    body: AdverseEventIn,
    request: Request,
    session: DbSession,
    principal: Reporter,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    require_visible_subject(session, principal, body.subject_id)

    def create() -> StoredResponse:
        now = datetime.now(UTC)
        ae, first = service.report(
            session,
            body,
            actor=principal.audit_name,
            source="site",
            now=now,
            proposed=_proposed(body),
        )
        return StoredResponse(
            201,
            service.view(session, ae, now=now, current=first).model_dump(mode="json"),
            {"ETag": etag(ae.version), "Location": f"/v1/adverse-events/{ae.id}"},
        )

    return idempotency.idempotent_response(
        session,
        request,
        principal=principal.subject,
        key=key,
        payload=body.model_dump(mode="json"),
        create=create,
    )


@router.get(
    "/v1/adverse-events",
    summary="Adverse events of a trial or a subject, oldest first",
)
def list_adverse_events(
    session: DbSession,
    principal: Reader,
    trial_id: Annotated[str | None, Query(max_length=40)] = None,
    subject_id: Annotated[str | None, Query(max_length=80)] = None,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> Page[AdverseEventOut]:
    return service.adverse_event_page(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        cursor=cursor,
        limit=limit,
        principal=principal,
        now=datetime.now(UTC),
    )


@router.get("/v1/adverse-events/{ae_id}", summary="One adverse event, with every version")
def get_adverse_event(
    ae_id: uuid.UUID, response: Response, session: DbSession, _: Reader
) -> AdverseEventOut:
    ae = service.require_adverse_event(session, ae_id)
    response.headers["ETag"] = etag(ae.version)
    return service.view(session, ae, now=datetime.now(UTC), with_versions=True)


@router.get(
    "/v1/adverse-events/{ae_id}/history",
    summary="The audit trail of an adverse event (who, what, when, why), oldest first",
)
def adverse_event_history(ae_id: uuid.UUID, session: DbSession, _: Reader) -> list[AuditEntryOut]:
    service.require_adverse_event(session, ae_id)
    return [
        AuditEntryOut.model_validate(entry)
        for entry in audit.entity_history(
            session, entity_type="adverse_event", entity_id=str(ae_id)
        )
    ]


@router.post(
    "/v1/adverse-events/{ae_id}/follow-ups",
    summary="Follow up an adverse event: a new version, with the reason for change",
)
def follow_up_adverse_event(
    ae_id: uuid.UUID,
    body: AdverseEventFollowUp,
    response: Response,
    session: DbSession,
    principal: Reporter,
    if_match: IfMatchHeader = None,
) -> AdverseEventOut:
    ae = service.require_adverse_event(session, ae_id, lock=True)
    check_if_match(if_match, current_version=ae.version)
    now = datetime.now(UTC)
    service.follow_up(
        session,
        ae,
        body,
        reason=body.reason_for_change,
        actor=principal.audit_name,
        now=now,
        proposed=_proposed(body),
    )
    response.headers["ETag"] = etag(ae.version)
    return service.view(session, ae, now=now)


@router.post(
    "/v1/adverse-events/{ae_id}/sponsor-report",
    summary="Record that the serious AE was reported to the sponsor (stops the 24-hour clock)",
)
def report_to_sponsor(
    ae_id: uuid.UUID,
    body: SponsorReportIn,
    response: Response,
    session: DbSession,
    principal: Reporter,
    if_match: IfMatchHeader = None,
) -> AdverseEventOut:
    ae = service.require_adverse_event(session, ae_id, lock=True)
    check_if_match(if_match, current_version=ae.version)
    now = datetime.now(UTC)
    service.record_sponsor_report(
        session, ae, reported_at=body.reported_at, actor=principal.audit_name, now=now
    )
    response.headers["ETag"] = etag(ae.version)
    return service.view(session, ae, now=now)


@router.get(
    "/v1/sae/overdue",
    summary="Serious AEs whose 24-hour reporting clock ran out without a sponsor report",
    tags=["serious adverse events"],
)
def overdue_saes(
    session: DbSession,
    principal: Reader,
    trial_id: Annotated[str | None, Query(max_length=40)] = None,
) -> list[AdverseEventOut]:
    return service.overdue(session, trial_id=trial_id, principal=principal, now=datetime.now(UTC))


@router.get(
    "/v1/trials/{trial_id}/grade-disagreements",
    summary="AEs whose investigator grade differs from the grade the rules proposed",
    tags=["grading"],
)
def grade_disagreements(
    trial_id: str, session: DbSession, principal: Reader
) -> list[GradeDisagreementOut]:
    return service.disagreements(session, trial_id, principal)


def _proposed(body: AdverseEventContent) -> service.ProposedGrade | None:
    if body.lab is not None:
        return assistance.proposal_from_lab(body.term_code, body.lab, loc=["body", "lab"])
    if body.clinical_answers is None:
        return None
    return assistance.proposal_from_answers(
        body.term_code, body.clinical_answers, loc=["body", "clinical_answers"]
    )


@router.get(
    "/v1/adverse-events/{ae_id}/dlt-assessments",
    summary="Every application of the DLT rules to this AE: protocol version, criteria, reasons",
    tags=["dlt"],
)
def list_dlt_assessments(ae_id: uuid.UUID, session: DbSession, _: Reader) -> list[DltAssessmentOut]:
    return [DltAssessmentOut.of(row) for row in service.dlt_assessments(session, ae_id)]


@router.post(
    "/v1/dlts/{dlt_id}/adjudication",
    summary="Confirm or rule out a suspected DLT with an electronic signature",
    response_model=DltOut,
    tags=["dlt"],
)
def adjudicate_dlt(
    dlt_id: uuid.UUID,
    body: AdjudicationIn,
    request: Request,
    session: DbSession,
    principal: SafetyPhysician,
    if_match: IfMatchHeader = None,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        case, signatures = service.adjudicate_dlt(
            session,
            dlt_id,
            if_match=if_match,
            decision=body.decision,
            principal=principal,
            comment=body.comment,
            now=datetime.now(UTC),
        )
        out = DltOut.of(case, signatures)
        return StoredResponse(200, out.model_dump(mode="json"), {"ETag": etag(case.version)})

    return idempotency.idempotent_response(
        session,
        request,
        principal=principal.subject,
        key=key,
        payload=body.model_dump(mode="json"),
        create=create,
    )
