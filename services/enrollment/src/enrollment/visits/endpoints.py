"""HTTP routes of visits: due and overdue lists per trial, recording a visit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from enrollment.visits import service
from enrollment.visits.schemas import VisitOut, VisitRecordCreate, VisitRecordOut

router = APIRouter(tags=["visits"])

Coordinator = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


@router.get(
    "/v1/trials/{trial_id}/visits",
    response_model=list[VisitOut],
    summary="Visits of every treated subject; filter due or overdue on a site date",
)
def trial_visits(
    trial_id: str,
    session: DbSession,
    principal: Reader,
    state: Literal["done", "upcoming", "due", "overdue", "cancelled"] | None = None,
    on: Annotated[date | None, Query(description="Site date; default today at the site")] = None,
) -> list[VisitOut]:
    return [
        VisitOut(
            subject_id=subject_id,
            visit_id=status_.visit.visit_id,
            label=status_.visit.label,
            target_on=status_.visit.target_on,
            window_opens=status_.visit.window_opens,
            window_closes=status_.visit.window_closes,
            assessments=[a.value for a in status_.visit.assessments],
            state=status_.state.value,
        )
        for subject_id, status_ in service.trial_visits(
            session, trial_id=trial_id, principal=principal, on=on, now=datetime.now(UTC)
        )
        if state is None or status_.state.value == state
    ]


@router.post(
    "/v1/subjects/{subject_id}/visits",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitRecordOut,
    summary="Record that a visit took place (outside its window: kept and flagged)",
)
def record_visit(
    subject_id: str,
    body: VisitRecordCreate,
    request: Request,
    session: DbSession,
    principal: Coordinator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        row = service.record_visit(
            session,
            subject_id=subject_id,
            visit_id=body.visit_id,
            visit_date=body.visit_date,
            principal=principal,
            now=datetime.now(UTC),
        )
        out = VisitRecordOut(
            subject_id=row.subject_id,
            visit_id=row.visit,
            visit_date=row.visit_date,
            in_window=row.in_window,
            recorded_by=row.recorded_by,
        )
        return StoredResponse(201, out.model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )
