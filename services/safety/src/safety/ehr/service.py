"""FHIR R4 lab intake: match the subject, grade the result, propose an adverse event.

A request is one Observation, a DiagnosticReport with its contained results, or a Bundle of
them as EHRs send it (plan.py says what each entry is). Each Observation is answered for itself,
like a FHIR batch: one unusable entry never fails the others. Every entry is decided in memory
(receiving.py, with what the request reads once: context.py), then the request's rows are
stored together, one statement per kind of row (staging.py), announced (one
`safety.ae.proposed` event per new proposal, all in one outbox INSERT) and audited: an entry per
proposal change and conflict, and one for the delivery with what became of every result.

Another request storing the same Observation version (or a proposal for the same Observation)
while this one decides is found when the rows are stored: the request's writes are rolled back
to the savepoint they were made in and the entries decided again, those answered 409.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from doseline import pagination
from doseline.auth import Principal
from doseline.errors import DoselineError, InvalidInput, NotFound
from safety.ehr import answers, repository, staging
from safety.ehr.context import Intake
from safety.ehr.matching import Matcher
from safety.ehr.models import ProposedAdverseEventRow
from safety.ehr.plan import Plan, Planned, Work, plan
from safety.ehr.reading import EntryRejected
from safety.ehr.receiving import receive
from safety.ehr.schemas import ConflictOut, LabIntakeOut, ProposalOut
from safety.ehr.staging import Key
from safety.problems import PROPOSAL_NOT_FOUND

ACCEPTED_RESOURCES: Final = ("Observation", "DiagnosticReport", "Bundle")


@dataclass
class Reply:
    """What one request became: a response Bundle's entries, or one lone resource's answer."""

    response_type: str | None
    answers: list[LabIntakeOut]


@dataclass(frozen=True)
class Delivery:
    """Who sends, as whom, when, and how the request names subjects."""

    identifier_key: str
    actor: str
    sender: str
    now: datetime
    can_access_site: Callable[[str], bool]


def intake(
    session: Session,
    payload: Any,
    *,
    identifier_key: str,
    actor: str,
    sender: str,
    now: datetime,
    can_access_site: Callable[[str], bool],
) -> Reply:
    if not isinstance(payload, dict):
        raise InvalidInput.at(["body"], "send a FHIR Observation, DiagnosticReport or Bundle")
    kind = payload.get("resourceType")
    if kind not in ACCEPTED_RESOURCES:
        raise InvalidInput.at(
            ["body", "resourceType"],
            f"expected one of {', '.join(ACCEPTED_RESOURCES)}, not {kind!r}",
        )
    the_plan = plan(payload)
    delivery = Delivery(identifier_key, actor, sender, now, can_access_site)
    concurrent: set[Key] = set()
    while True:
        savepoint = session.begin_nested()
        request = _request(session, the_plan, delivery, frozenset(concurrent))
        found = [_answer_item(request, item) for item in the_plan.items]
        lost = staging.store(session, request.staged)
        if not lost:
            break
        # Another request stored some of these first: decide again, those answered 409.
        savepoint.rollback()
        concurrent |= lost
    staging.announce(session, request.staged)
    for note in staging.audit_entries(session, request.staged):
        note.record(session)
    _delivery_entry(payload, found, actor=actor).record(session)
    savepoint.commit()
    return Reply(response_type=the_plan.response_type, answers=found)


def _request(
    session: Session, the_plan: Plan, delivery: Delivery, concurrent: frozenset[Key]
) -> Intake:
    """The request's context, with what it reads up front: one query each."""
    works = [work for item in the_plan.items for work in item.work]
    keys = {_key(work) for work in works}
    matcher = Matcher(
        session=session,
        identifier_key=delivery.identifier_key,
        sender=delivery.sender,
        index=the_plan.index,
        can_access_site=delivery.can_access_site,
    )
    matcher.learn_patients(the_plan.patients)
    received = repository.received_keys(session, delivery.sender, keys)
    # A re-delivery is answered from `received` alone: nothing else is read for it.
    fresh = [work for work in works if _key(work) not in received]
    matcher.read_subjects([work.resource for work in fresh])
    return Intake(
        session=session,
        matcher=matcher,
        sender=delivery.sender,
        actor=delivery.actor,
        now=delivery.now,
        received=received,
        proposals=repository.proposals_for_observations(
            session, delivery.sender, {_key(work)[0] for work in fresh}
        ),
        concurrent=concurrent,
    )


def _key(work: Work) -> Key:
    return work.key


def _delivery_entry(
    payload: dict[str, Any], found: list[LabIntakeOut], *, actor: str
) -> staging.AuditNote:
    """One audit entry per delivery: every result received, its version and what became of it
    (proposals have their own entries as well)."""
    flat = [result for answer in found for result in (answer, *answer.results)]
    bundle_id = payload.get("id") if payload.get("resourceType") == "Bundle" else None
    return staging.AuditNote(
        actor=actor,
        action="ehr.observations_received",
        entity_type="fhir_delivery",
        entity_id=bundle_id if isinstance(bundle_id, str) and bundle_id else str(uuid.uuid4()),
        after={
            "counts": dict(Counter(a.outcome for a in flat)),
            "entries": [[a.observation_id, a.version_id, a.outcome, a.grade] for a in flat],
        },
    )


def _answer_item(request: Intake, item: Planned) -> LabIntakeOut:
    if item.action == "skip":
        return LabIntakeOut.of(200, "skipped", item.reason)
    if item.action == "observation":
        return _isolated(request, item.work[0])
    results = [_isolated(request, work) for work in item.work]
    return answers.group_answer(item, results)


def _isolated(request: Intake, work: Work) -> LabIntakeOut:
    """One Observation: a refused one stages nothing and is refused for itself."""
    key = _key(work)
    if key in request.concurrent:
        return answers.refused(work, 409, answers.CONCURRENT)
    mark = request.staged.mark()
    try:
        return receive(request, work)
    except (EntryRejected, DoselineError) as error:
        request.staged.undo(mark)
        # A later copy of a refused entry is refused for itself, not called a duplicate.
        request.seen.pop(key, None)
        return answers.refused(work, error.status, error.detail)


CONFLICT_ORDER = pagination.Keyset(received_at=datetime, id=uuid.UUID)
PROPOSAL_ORDER = pagination.Keyset(created_at=datetime, id=uuid.UUID)


def conflict_page(
    session: Session,
    *,
    subject_id: str | None,
    cursor: str | None,
    limit: int,
    principal: Principal,
) -> pagination.Page[ConflictOut]:
    """Conflicting re-deliveries in the order received, `limit` after the cursor."""
    rows = repository.conflicts(
        session,
        subject_id=subject_id,
        after=CONFLICT_ORDER.read(cursor),
        limit=limit + 1,
        principal=principal,
    )
    page = CONFLICT_ORDER.page(rows, limit=limit, key=lambda row: (row.received_at, row.id))
    return page.shown_as(ConflictOut.of)


def proposal_page(
    session: Session,
    *,
    trial_id: str | None,
    subject_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
    principal: Principal,
) -> pagination.Page[ProposalOut]:
    """Proposed AEs in the order they were first proposed, `limit` after the cursor: a proposal
    updated or decided between two page reads keeps its place (shown once)."""
    rows = repository.proposals(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        status=status,
        after=PROPOSAL_ORDER.read(cursor),
        limit=limit + 1,
        principal=principal,
    )
    page = PROPOSAL_ORDER.page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return page.shown_as(ProposalOut.of)


def require_proposal(
    session: Session, proposal_id: uuid.UUID, *, lock: bool
) -> ProposedAdverseEventRow:
    """The proposed AE `proposal_id` (locked for a decision when `lock`), or 404."""
    row = repository.proposal(session, proposal_id, lock=lock)
    if row is None:
        raise NotFound(f"no proposed adverse event {proposal_id}", problem=PROPOSAL_NOT_FOUND)
    return row
