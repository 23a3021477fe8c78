"""HTTP routes of the escalation state: current state, history, decisions, signatures, and the
resolutions of late DLTs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from doseline.pagination import Page
from enrollment.cohorts.schemas import ReplacementSlotOut
from enrollment.escalation_state import service
from enrollment.escalation_state.models import (
    DecisionSignature,
    EscalationHistory,
    LateDltResolutionSignature,
)
from enrollment.escalation_state.schemas import (
    DecisionOut,
    DoseLevelState,
    EscalationStateOut,
    HistoryEntryOut,
    LateDltOut,
    LateDltResolutionCreate,
    LateDltResolutionOut,
    Recommendation,
    ResolutionRef,
    SignatureCreate,
    SignatureOut,
)

router = APIRouter(prefix="/v1/trials/{trial_id}/escalation", tags=["escalation"])

Signer = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR, Role.SAFETY_PHYSICIAN))]
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]


def decision_out(view: service.DecisionView) -> DecisionOut:
    row = view.decision
    return DecisionOut(
        id=row.id,
        cohort_number=row.cohort_number,
        outcomes=row.outcomes,
        outcome=row.outcome,
        continue_trial=row.continue_trial,
        next_dose=row.next_dose,
        next_cohort_size=row.next_cohort_size,
        mtd=row.mtd,
        reason=row.reason,
        state_hash=row.state_hash,
        protocol_version=row.protocol_version,
        protocol_hash=row.protocol_hash,
        status=row.status,
        decided_at=row.decided_at,
        next_cohort_opened=row.next_cohort_opened,
        signatures=[signature_out(s) for s in view.signatures],
        missing_signatures=view.missing_signatures,
    )


def signature_out(s: DecisionSignature | LateDltResolutionSignature) -> SignatureOut:
    return SignatureOut(
        role=s.role,
        signer=s.signer,
        signer_name=s.signer_name,
        meaning=s.meaning,
        state_hash=s.state_hash,
        authenticated_at=s.authenticated_at,
        signed_at=s.signed_at,
    )


def resolution_out(view: service.ResolutionView) -> LateDltResolutionOut:
    row = view.resolution
    return LateDltResolutionOut(
        id=row.id,
        dlt_id=row.dlt_id,
        subject_id=row.subject_id,
        cohort_number=row.subject_cohort_number,
        decision_id=row.decision_id,
        decision_cohort_number=row.decision_cohort_number,
        last_cohort_number=row.last_cohort_number,
        outcome=service.OUTCOMES[row.outcome],
        reason=row.reason,
        continue_trial=row.continue_trial,
        next_dose=row.next_dose,
        next_cohort_size=row.next_cohort_size,
        mtd=row.mtd,
        revised_decision_id=row.revised_decision_id,
        expanded_cohort_number=row.expanded_cohort_number,
        added_subjects=row.added_subjects,
        opened_cohort_number=row.opened_cohort_number,
        state_hash=row.state_hash,
        status=service.RESOLUTION_STATUSES[row.status],
        proposed_at=row.proposed_at,
        resolved_at=row.resolved_at,
        signatures=[signature_out(s) for s in view.signatures],
        missing_signatures=view.missing_signatures,
    )


def late_dlt_out(view: service.LateDltView) -> LateDltOut:
    late = view.late
    return LateDltOut(
        dlt_id=late.fact.dlt_id,
        subject_id=late.fact.subject_id,
        cohort_number=late.cohort_number,
        grade=late.fact.grade,
        adjudicated_at=late.fact.adjudicated_at,
        received_at=late.fact.received_at,
        contradicts_decision_id=late.decision.id,
        contradicts_decision_cohort_number=late.decision.cohort_number,
        contradicts_decision_outcome=late.decision.outcome,
        pending_resolution=resolution_out(view.pending) if view.pending else None,
    )


HISTORY_ORDER = pagination.Keyset(seq=int)


def history_out(row: EscalationHistory) -> HistoryEntryOut:
    return HistoryEntryOut(
        seq=row.seq,
        outcomes=row.outcomes,
        complete_cohorts=row.complete_cohorts,
        continue_trial=row.continue_trial,
        next_dose=row.next_dose,
        mtd=row.mtd,
        reason=row.reason,
        protocol_version=row.protocol_version,
        protocol_hash=row.protocol_hash,
        state_hash=row.state_hash,
        cause=row.cause,
        recorded_at=row.recorded_at,
        late_dlt_resolutions=[
            ResolutionRef.model_validate(ref) for ref in row.state.get("late_dlt_resolutions", [])
        ],
    )


@router.get(
    "",
    response_model=EscalationStateOut,
    summary="Escalation state: per dose level patients, evaluable, DLTs, open slots; the"
    " pending recommendation and its reason",
)
def escalation_state(trial_id: str, session: DbSession, _: Reader) -> EscalationStateOut:
    view = service.escalation_view(session, trial_id=trial_id, now=datetime.now(UTC))
    return EscalationStateOut(
        trial_id=trial_id,
        trial_status=view.trial.status,
        mtd=view.trial.mtd,
        outcomes=view.state.outcomes,
        state_hash=view.state.state_hash,
        protocol_version=view.current.protocol_version,
        protocol_hash=view.current.protocol_hash,
        dose_levels=[
            DoseLevelState(
                dose_level=level.dose_level,
                per_kg=level.per_kg,
                patients=level.patients,
                evaluable_patients=level.evaluable_patients,
                dlts=level.dlts,
                open_slots=level.open_slots,
            )
            for level in view.levels
        ],
        recommendation=Recommendation(
            continue_trial=view.current.continue_trial,
            next_dose=view.current.next_dose,
            mtd=view.current.mtd,
            reason=view.current.reason,
        ),
        pending_decision=decision_out(view.pending) if view.pending else None,
        unmatched_dlt_events=view.unmatched_dlts,
        replacement_slots_to_review=[
            ReplacementSlotOut.of(slot, number) for slot, number in view.slots_to_review
        ],
        late_dlts_to_resolve=[late_dlt_out(late) for late in view.late_dlts],
    )


@router.get(
    "/history",
    response_model=Page[HistoryEntryOut],
    summary="Every escalation state, oldest first, each reproducible from its outcome string",
)
def escalation_history(
    trial_id: str,
    session: DbSession,
    _: Reader,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
    cursor: pagination.CursorQuery = None,
) -> Page[HistoryEntryOut]:
    (after_seq,) = HISTORY_ORDER.read(cursor) or (0,)
    rows = service.history(session, trial_id=trial_id, after_seq=after_seq, limit=limit + 1)
    return HISTORY_ORDER.page(rows, limit=limit, key=lambda row: (row.seq,)).shown_as(history_out)


@router.get(
    "/decisions",
    response_model=list[DecisionOut],
    summary="Escalation decisions with their signatures (pending, decided, superseded)",
)
def decisions(trial_id: str, session: DbSession, _: Reader) -> list[DecisionOut]:
    return [decision_out(view) for view in service.decisions(session, trial_id=trial_id)]


@router.post(
    "/decisions/{decision_id}/signatures",
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionOut,
    summary="Sign a decision (investigator or safety physician, re-authenticated within 5 min)",
    responses={409: {"description": "State changed, same person twice, or already signed"}},
)
def sign_decision(
    trial_id: str,
    decision_id: uuid.UUID,
    body: SignatureCreate,
    request: Request,
    session: DbSession,
    principal: Signer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        decision, _signature = service.sign_decision(
            session,
            trial_id=trial_id,
            decision_id=decision_id,
            principal=principal,
            role=Role(body.role),
            meaning=body.meaning,
            signed_state_hash=body.state_hash,
            now=datetime.now(UTC),
        )
        session.flush()
        view = service.decision_view(session, decision)
        return StoredResponse(201, decision_out(view).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.get(
    "/late-dlt-resolutions",
    response_model=list[LateDltResolutionOut],
    summary="Resolutions of DLTs confirmed after a signed decision, with their signatures",
)
def late_dlt_resolutions(
    trial_id: str, session: DbSession, _: Reader
) -> list[LateDltResolutionOut]:
    return [resolution_out(view) for view in service.resolutions(session, trial_id=trial_id)]


@router.post(
    "/late-dlt-resolutions",
    status_code=status.HTTP_201_CREATED,
    response_model=LateDltResolutionOut,
    summary="Resolve a DLT confirmed after a signed decision (decision stands, revised, cohort"
    " expanded), signing it as investigator or safety physician; the other role signs next",
    responses={
        409: {
            "description": "Nothing to resolve, resolved already, a resolution pending, state"
            " changed, or the outcome cannot be carried out"
        }
    },
)
def propose_late_dlt_resolution(
    trial_id: str,
    body: LateDltResolutionCreate,
    request: Request,
    session: DbSession,
    principal: Signer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        revised, expansion = body.revised_decision, body.expansion
        resolution = service.propose_resolution(
            session,
            trial_id=trial_id,
            request=service.ResolutionRequest(
                dlt_id=body.dlt_id,
                outcome=body.outcome,
                reason=body.reason,
                revised=service.RevisedDecision(**revised.model_dump()) if revised else None,
                expansion=service.Expansion(**expansion.model_dump()) if expansion else None,
            ),
            signing=service.Signing(
                principal=principal,
                role=Role(body.role),
                meaning=body.meaning,
                state_hash=body.state_hash,
            ),
            now=datetime.now(UTC),
        )
        session.flush()
        view = service.resolution_view(session, resolution)
        return StoredResponse(201, resolution_out(view).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )


@router.post(
    "/late-dlt-resolutions/{resolution_id}/signatures",
    status_code=status.HTTP_201_CREATED,
    response_model=LateDltResolutionOut,
    summary="Sign a late-DLT resolution (the role that has not signed it, re-authenticated"
    " within 5 min); with both signatures it takes effect",
    responses={409: {"description": "Not pending, state changed, same person or role twice"}},
)
def sign_late_dlt_resolution(
    trial_id: str,
    resolution_id: uuid.UUID,
    body: SignatureCreate,
    request: Request,
    session: DbSession,
    principal: Signer,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def create() -> StoredResponse:
        resolution = service.sign_resolution(
            session,
            trial_id=trial_id,
            resolution_id=resolution_id,
            signing=service.Signing(
                principal=principal,
                role=Role(body.role),
                meaning=body.meaning,
                state_hash=body.state_hash,
            ),
            now=datetime.now(UTC),
        )
        session.flush()
        view = service.resolution_view(session, resolution)
        return StoredResponse(201, resolution_out(view).model_dump(mode="json"))

    return idempotent_response(
        session, request, principal=principal.subject, key=key, payload=body, create=create
    )
