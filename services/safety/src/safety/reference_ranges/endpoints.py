"""HTTP API of reference ranges: read those in force, replace a site's overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from doseline.tokens import SITE_ID
from safety.reference_ranges import service
from safety.reference_ranges.schemas import (
    ReferenceRangeOut,
    ReferenceRangesOut,
    SiteReferenceRangesIn,
)

router = APIRouter(prefix="/v1/trials/{trial_id}/reference-ranges", tags=["reference ranges"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Editor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.INVESTIGATOR))]


def _listing(session: DbSession, trial_id: str, site_id: str | None) -> ReferenceRangesOut:
    return ReferenceRangesOut(
        trial_id=trial_id,
        site_id=site_id,
        ranges=[
            ReferenceRangeOut.of(entry)
            for entry in service.ranges_in_force(session, trial_id, site_id)
        ],
    )


@router.get("", summary="Reference ranges in force: the site's overrides, then shipped defaults")
def get_reference_ranges(
    trial_id: str,
    response: Response,
    session: DbSession,
    principal: Reader,
    site_id: Annotated[
        str | None,
        Query(pattern=f"^{SITE_ID}$", max_length=40, description="Without it: the defaults"),
    ] = None,
) -> ReferenceRangesOut:
    service.require_known_trial(session, trial_id)
    if site_id is not None:
        principal.require_site(site_id)
        response.headers["ETag"] = etag(service.site_version(session, trial_id, site_id))
    return _listing(session, trial_id, site_id)


@router.put("/{site_id}", summary="Replace a site's reference ranges (If-Match required)")
def put_site_reference_ranges(
    trial_id: str,
    site_id: Annotated[str, Path(pattern=f"^{SITE_ID}$", max_length=40)],
    body: SiteReferenceRangesIn,
    response: Response,
    session: DbSession,
    principal: Editor,
    if_match: IfMatchHeader = None,
) -> ReferenceRangesOut:
    service.require_known_trial(session, trial_id)
    principal.require_site(site_id)
    site = service.lock_site(session, trial_id, site_id, actor=principal.audit_name)
    check_if_match(if_match, current_version=site.version)
    service.replace_site_ranges(
        session,
        site,
        [entry.as_row() for entry in body.ranges],
        actor=principal.audit_name,
        reason=body.reason,
    )
    response.headers["ETag"] = etag(site.version)
    return _listing(session, trial_id, site_id)
