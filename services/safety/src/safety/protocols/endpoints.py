"""HTTP API of the protocol versions safety applies and of the DLTs an amendment asks to review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.http import DbSession
from safety.protocols import service
from safety.protocols.schemas import DltReviewOut, ProtocolVersionOut

router = APIRouter(tags=["protocol"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
TrialId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@router.get(
    "/v1/trials/{trial_id}/protocol-versions",
    summary="The protocol versions received for a trial, with the rules safety applies",
)
def list_protocol_versions(
    trial_id: TrialId, session: DbSession, _: Reader
) -> list[ProtocolVersionOut]:
    return [ProtocolVersionOut.of(row) for row in service.received_versions(session, trial_id)]


@router.get(
    "/v1/trials/{trial_id}/dlt-reviews",
    summary=(
        "Adjudicated DLTs whose verdict would differ under an amended protocol: for a safety "
        "physician to review (the signed adjudications are not changed)"
    ),
)
def list_dlt_reviews(
    trial_id: TrialId, session: DbSession, principal: Reader
) -> list[DltReviewOut]:
    return [DltReviewOut.of(row) for row in service.reviews(session, trial_id, principal)]
