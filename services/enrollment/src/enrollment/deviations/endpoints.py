"""HTTP routes of protocol deviations: a subject's missed, late and short infusions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.http import DbSession
from enrollment.deviations import service
from enrollment.deviations.schemas import DeviationOut

router = APIRouter(tags=["dosing"])

Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


@router.get(
    "/v1/subjects/{subject_id}/deviations",
    response_model=list[DeviationOut],
    summary=(
        "The subject's protocol deviations of the infusion schedule: missed infusions, ones"
        " given outside their window and ones given short, with the planned day and window"
    ),
)
def list_deviations(subject_id: str, session: DbSession, _: Reader) -> list[DeviationOut]:
    return [
        DeviationOut.model_validate(row, from_attributes=True)
        for row in service.deviations_of(session, subject_id)
    ]
