"""HTTP routes of protocol deviations: a subject's missed, late and short infusions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.http import DbSession
from doseline.pagination import Page
from enrollment.deviations import service
from enrollment.deviations.schemas import DeviationOut

router = APIRouter(tags=["dosing"])

Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
INFUSION_ORDER = pagination.Keyset(infusion_number=int, kind=str)


@router.get(
    "/v1/subjects/{subject_id}/deviations",
    response_model=Page[DeviationOut],
    summary=(
        "The subject's protocol deviations of the infusion schedule: missed infusions, ones"
        " given outside their window and ones given short, with the planned day and window"
    ),
)
def list_deviations(
    subject_id: str,
    session: DbSession,
    _: Reader,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
    cursor: pagination.CursorQuery = None,
) -> Page[DeviationOut]:
    rows = service.deviations_of(
        session, subject_id, after=INFUSION_ORDER.read(cursor), limit=limit + 1
    )
    page = INFUSION_ORDER.page(rows, limit=limit, key=lambda row: (row.infusion_number, row.kind))
    return page.shown_as(lambda row: DeviationOut.model_validate(row, from_attributes=True))
