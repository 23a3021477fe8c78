"""HTTP routes of cohorts: enrol, list cohorts, open the next one, waitlist, reservations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from enrollment.cohorts import service
from enrollment.cohorts.models import SlotReservation
from enrollment.cohorts.schemas import (
    CohortOut,
    EnrolmentCreate,
    EnrolmentOut,
    ReplacementSlotOut,
    ReservationCreate,
    ReservationOut,
    WaitlistCreate,
    WaitlistEntryOut,
    WaitlistRemoval,
)
from enrollment.subjects.scope import require_visible_subject, visible
from enrollment.workflows import cohorts as cohort_workflow

router = APIRouter(prefix="/v1/trials/{trial_id}", tags=["cohorts"])

Coordinator = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]
Opener = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.INVESTIGATOR))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


def cohort_out(summary: service.CohortSummary) -> CohortOut:
    cohort = summary.cohort
    return CohortOut(
        number=cohort.number,
        dose_level=cohort.dose_level,
        planned_size=cohort.planned_size,
        slots=cohort.slots,
        enrolled=summary.enrolled,
        reserved=summary.reserved,
        open_slots=summary.free,
        status=cohort.status,
        opened_at=cohort.opened_at,
        replacement_slots=[
            ReplacementSlotOut.of(slot, cohort.number) for slot in summary.replacement_slots
        ],
    )


@router.post(
    "/enrolments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentOut,
    summary="Enrol a screened, consented subject into the open cohort at its dose level",
    responses={409: {"description": "Cohort full (`/problems/cohort-full`), or not enrollable"}},
)
def enrol(
    trial_id: str,
    body: EnrolmentCreate,
    request: Request,
    session: DbSession,
    principal: Coordinator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    require_visible_subject(session, principal, body.subject_id)

    def create() -> StoredResponse:
        enrolment = cohort_workflow.enrol(
            session,
            trial_id=trial_id,
            subject_id=body.subject_id,
            principal=principal,
            now=datetime.now(UTC),
        )
        out = EnrolmentOut(
            subject_id=enrolment.subject_id,
            trial_id=trial_id,
            cohort_number=service.cohort_number_of(session, enrolment.cohort_id),
            dose_level=enrolment.dose_level,
            slot_number=enrolment.slot_number,
            sequence=enrolment.sequence,
            protocol_version=enrolment.protocol_version,
            enrolled_at=enrolment.enrolled_at,
        )
        return StoredResponse(201, out.model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get("/cohorts", response_model=list[CohortOut], summary="Cohorts and their slots")
def list_cohorts(trial_id: str, session: DbSession, _: Reader) -> list[CohortOut]:
    return [
        cohort_out(summary)
        for summary in service.cohorts_of(session, trial_id=trial_id, now=datetime.now(UTC))
    ]


@router.post(
    "/cohorts",
    status_code=status.HTTP_201_CREATED,
    response_model=CohortOut,
    summary="Open the next cohort, as the signed escalation decision says",
    responses={409: {"description": "The decision is not signed by both (escalation gate)"}},
)
def open_next_cohort(
    trial_id: str,
    request: Request,
    session: DbSession,
    principal: Opener,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        now = datetime.now(UTC)
        summary = cohort_workflow.open_next_cohort(
            session, trial_id=trial_id, principal=principal, now=now
        )
        return StoredResponse(201, cohort_out(summary).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload={}, create=create
    )


@router.post(
    "/waitlist",
    status_code=status.HTTP_201_CREATED,
    response_model=WaitlistEntryOut,
    summary="Put an eligible subject on the ordered waitlist",
)
def join_waitlist(
    trial_id: str,
    body: WaitlistCreate,
    request: Request,
    session: DbSession,
    principal: Coordinator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    require_visible_subject(session, principal, body.subject_id)

    def create() -> StoredResponse:
        entry = service.join_waitlist(
            session, trial_id=trial_id, subject_id=body.subject_id, principal=principal
        )
        out = WaitlistEntryOut(
            subject_id=entry.subject_id,
            position=entry.position,
            status=entry.status,
            added_at=entry.added_at,
        )
        return StoredResponse(201, out.model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.post(
    "/waitlist/{subject_id}/removal",
    response_model=WaitlistEntryOut,
    summary="Take a subject off the waitlist, with the reason; the subjects behind move up",
)
def remove_from_waitlist(
    trial_id: str,
    subject_id: str,
    body: WaitlistRemoval,
    request: Request,
    session: DbSession,
    principal: Opener,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        entry = service.remove_from_waitlist(
            session,
            trial_id=trial_id,
            subject_id=subject_id,
            reason=body.reason,
            principal=principal,
        )
        out = WaitlistEntryOut(
            subject_id=entry.subject_id,
            position=entry.position,
            status=entry.status,
            added_at=entry.added_at,
        )
        return StoredResponse(200, out.model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get(
    "/waitlist", response_model=list[WaitlistEntryOut], summary="Subjects waiting, in order"
)
def waitlist(trial_id: str, session: DbSession, principal: Reader) -> list[WaitlistEntryOut]:
    entries = service.waitlist(session, trial_id=trial_id)
    return [
        WaitlistEntryOut(
            subject_id=e.subject_id, position=e.position, status=e.status, added_at=e.added_at
        )
        for e in visible(session, principal, trial_id, entries, "subject_id")
    ]


def reservation_out(session: Session, row: SlotReservation, now: datetime) -> ReservationOut:
    lapsed = row.status == "active" and row.expires_at <= now
    return ReservationOut(
        id=row.id,
        subject_id=row.subject_id,
        cohort_number=service.cohort_number_of(session, row.cohort_id),
        status="expired" if lapsed else row.status,
        reserved_at=row.reserved_at,
        expires_at=row.expires_at,
    )


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationOut,
    summary="Hold a slot of the open cohort for an eligible subject; it lapses if unused",
)
def reserve_slot(
    trial_id: str,
    body: ReservationCreate,
    request: Request,
    session: DbSession,
    principal: Coordinator,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    require_visible_subject(session, principal, body.subject_id)

    def create() -> StoredResponse:
        now = datetime.now(UTC)
        row = service.reserve_slot(
            session, trial_id=trial_id, subject_id=body.subject_id, principal=principal, now=now
        )
        return StoredResponse(201, reservation_out(session, row, now).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get(
    "/reservations", response_model=list[ReservationOut], summary="Slot reservations of a trial"
)
def reservations(trial_id: str, session: DbSession, principal: Reader) -> list[ReservationOut]:
    now = datetime.now(UTC)
    rows = service.reservations(session, trial_id=trial_id)
    return [
        reservation_out(session, row, now)
        for row in visible(session, principal, trial_id, rows, "subject_id")
    ]


@router.get(
    "/replacement-slots",
    response_model=list[ReplacementSlotOut],
    summary="Replacement slots of non-evaluable subjects; ?status=flagged lists those to review",
)
def replacement_slots(
    trial_id: str,
    session: DbSession,
    principal: Reader,
    slot_status: Annotated[
        Literal["open", "withdrawn", "flagged"] | None, Query(alias="status")
    ] = None,
) -> list[ReplacementSlotOut]:
    # A slot names the replaced subject: it belongs to that subject's site.
    slots = service.replacement_slots(session, trial_id=trial_id, status=slot_status)
    return [
        ReplacementSlotOut.of(slot, service.cohort_number_of(session, slot.cohort_id))
        for slot in visible(session, principal, trial_id, slots, "replaced_subject_id")
    ]
