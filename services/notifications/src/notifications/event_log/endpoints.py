"""HTTP routes of the event feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from doseline.auth import Principal, Role, require_roles
from doseline.errors import Forbidden
from doseline.http import DbSession
from doseline.pagination import MAX_PAGE_SIZE
from notifications.event_log import service
from notifications.event_log.schemas import EventPage, FeedEvent
from notifications.settings import NotificationsSettings

router = APIRouter(prefix="/v1/events", tags=["events"])

TRIAL_ROLES = (
    Role.ADMIN,
    Role.MONITOR,
    Role.SAFETY_PHYSICIAN,
    Role.INVESTIGATOR,
    Role.PHARMACIST,
    Role.COORDINATOR,
    Role.OUTCOMES_ASSESSOR,
)
_with_hospital_systems = require_roles(*TRIAL_ROLES, Role.EHR_INTEGRATION)


def _reader(
    request: Request, principal: Annotated[Principal, Depends(_with_hospital_systems)]
) -> Principal:
    """Every trial role follows the feed; a hospital system (`ehr_integration`) only where the
    deployment allows it (NOTIFICATIONS_EHR_INTEGRATION_READS_FEED), to follow its own results."""
    settings: NotificationsSettings = request.app.state.settings
    if not principal.has_any(TRIAL_ROLES) and not settings.ehr_integration_reads_feed:
        raise Forbidden(
            "this deployment does not let hospital systems read the event feed "
            "(NOTIFICATIONS_EHR_INTEGRATION_READS_FEED)",
        )
    return principal


Reader = Annotated[Principal, Depends(_reader)]


@router.get(
    "",
    summary="The event log, oldest first, after a cursor",
    description=(
        "Every public event once, in the log's order. Resume with `after=<next_cursor>` from "
        "the last page read; filters do not change positions, so a cursor stays valid."
    ),
)
def list_events(
    session: DbSession,
    principal: Reader,
    after: Annotated[str | None, Query(description="`next_cursor` of the last page read")] = None,
    event_type: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="Event type patterns: `safety.dlt.*` (one word), `safety.#` (any)",
        ),
    ] = None,
    trial: Annotated[
        str | None,
        Query(max_length=80, description="Trial code: HDMSC-RP-01 or trials/HDMSC-RP-01"),
    ] = None,
    subject: Annotated[
        str | None,
        Query(
            max_length=80,
            description="Study subject id: HDMSC-RP-01-002 or, as events write it, "
            "subjects/HDMSC-RP-01-002",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> EventPage:
    return service.feed(
        session,
        after=after,
        limit=limit,
        types=event_type or [],
        trial_id=trial,
        subject_id=subject,
        principal=principal,
    )


@router.get("/{event_id}", summary="One event of the log, by its id")
def get_event(event_id: str, session: DbSession, _: Reader) -> FeedEvent:
    return service.one(session, event_id)
