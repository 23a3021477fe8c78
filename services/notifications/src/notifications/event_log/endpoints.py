"""HTTP routes of the event feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from doseline.auth import Principal, Role, require_roles
from doseline.http import DbSession
from doseline.pagination import MAX_PAGE_SIZE
from notifications.event_log import service
from notifications.event_log.schemas import EventPage, FeedEvent

router = APIRouter(prefix="/v1/events", tags=["events"])

# Every trial role may follow the feed; hospital systems write data, they do not read events.
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            Role.ADMIN,
            Role.MONITOR,
            Role.SAFETY_PHYSICIAN,
            Role.INVESTIGATOR,
            Role.PHARMACIST,
            Role.COORDINATOR,
            Role.OUTCOMES_ASSESSOR,
        )
    ),
]


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
    trial: Annotated[str | None, Query(max_length=64, description="Trial code")] = None,
    subject: Annotated[str | None, Query(max_length=64, description="Study subject id")] = None,
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
