"""FHIR R4 lab intake: match the subject, grade the result, propose an adverse event.

A request is one Observation, a DiagnosticReport with its contained results, or a Bundle of
them as EHRs send it (plan.py says what each entry is). Each Observation is handled in a
savepoint of its own, like a FHIR batch: one unusable entry never fails the others.

- Identity: id + version (doseline.fhir.identity). The same id and version again is a duplicate
  when its clinical content is the same, and a conflict (kept for review, answered 409) when it
  is not. A later version with status amended/corrected updates the earlier proposal
  (COMPLIANCE-AND-API.md §5.7: ingest result status and version, re-run grading on corrections).
- No invented adverse events: only a result dated within the protocol's AE reporting period
  (from the first infusion to `ae_reporting_period.months_after_last_infusion` months after the
  last) can propose one; an earlier result is kept as history (and may be the baseline). A
  result whose grade depends on a normal range nobody gave is refused as "needs a reference
  range", never graded by a worst-case assumption.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doseline import audit, pagination, sitetime
from doseline.auth import Principal
from doseline.errors import DoselineError, InvalidInput
from doseline.fhir import identity
from safety.catalogue import service as catalogue
from safety.catalogue.models import CtcaeTermRow
from safety.ehr import lab_grading, proposals, repository
from safety.ehr.facts import lab_facts, needs_site_range
from safety.ehr.loinc import lab_terms_for
from safety.ehr.matching import Matcher
from safety.ehr.models import LabIntakeConflictRow, LabObservationRow
from safety.ehr.plan import Planned, Work, plan
from safety.ehr.reading import EntryRejected, LabResult, check_magnitudes, parse
from safety.ehr.schemas import ConflictOut, EntryOutcome, LabIntakeOut, ProposalOut
from safety.protocols import service as protocols
from safety.reference_ranges import service as reference_ranges
from safety.subjects.models import SubjectRow

GRADED_STATUSES: Final = frozenset({"final", "amended", "corrected"})
ACCEPTED_RESOURCES: Final = ("Observation", "DiagnosticReport", "Bundle")
# Observation categories (http://terminology.hl7.org/CodeSystem/observation-category) that are
# not laboratory results, for the reason a skipped entry gives.
_CATEGORY_NAMES: Final = {
    "vital-signs": "a vital sign",
    "social-history": "social history",
    "survey": "a survey answer",
    "exam": "an examination finding",
    "imaging": "an imaging result",
    "procedure": "a procedure result",
    "therapy": "a therapy record",
    "activity": "an activity measurement",
}


@dataclass
class Reply:
    """What one request became: a response Bundle's entries, or one lone resource's answer."""

    response_type: str | None
    answers: list[LabIntakeOut]


@dataclass
class _Request:
    session: Session
    matcher: Matcher
    sender: str
    """The sending system (its token's subject): Observation ids are unique per sender only."""
    actor: str
    now: datetime
    received: dict[tuple[str, str], str | None]
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    terms: dict[str, CtcaeTermRow] = field(default_factory=dict)
    # Read once per request, not once per result: a Bundle holds hundreds of one subject's.
    rules: dict[tuple[str, date], protocols.RulesInForce | None] = field(default_factory=dict)
    ranges: dict[tuple[Any, ...], reference_ranges.RangeLookup] = field(default_factory=dict)

    def rules_in_force(self, trial_id: str, day: date) -> protocols.RulesInForce | None:
        if (trial_id, day) not in self.rules:
            self.rules[trial_id, day] = protocols.rules_in_force(self.session, trial_id, day)
        return self.rules[trial_id, day]

    def site_range(self, **lookup: Any) -> reference_ranges.RangeLookup:
        key = tuple(sorted(lookup.items()))
        if key not in self.ranges:
            self.ranges[key] = reference_ranges.reference_range(self.session, **lookup)
        return self.ranges[key]

    def term(self, meddra_code: str) -> CtcaeTermRow:
        if meddra_code not in self.terms:
            self.terms[meddra_code] = catalogue.require_term(
                self.session, proposals.CTCAE_VERSION, meddra_code
            )
        return self.terms[meddra_code]


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
    works = [work for item in the_plan.items for work in item.work]
    keys = {identity.identity(work.resource, full_url=work.full_url) for work in works}
    request = _Request(
        session=session,
        matcher=Matcher(
            session=session,
            identifier_key=identifier_key,
            sender=sender,
            index=the_plan.index,
            can_access_site=can_access_site,
        ),
        sender=sender,
        actor=actor,
        now=now,
        # One query finds every (id, version) received before, so a re-delivery is cheap.
        received=repository.received_keys(session, sender, keys),
    )
    request.matcher.learn_patients(the_plan.patients)
    answers = [_answer_item(request, item) for item in the_plan.items]
    _audit_delivery(session, payload, answers, actor=actor)
    return Reply(response_type=the_plan.response_type, answers=answers)


def _audit_delivery(
    session: Session, payload: dict[str, Any], answers: list[LabIntakeOut], *, actor: str
) -> None:
    """One audit entry per delivery: every result received, its version and what became of it
    (proposals have their own entries as well)."""
    flat = [result for answer in answers for result in (answer, *answer.results)]
    bundle_id = payload.get("id") if payload.get("resourceType") == "Bundle" else None
    audit.record(
        session,
        actor=actor,
        action="ehr.observations_received",
        entity_type="fhir_delivery",
        entity_id=bundle_id if isinstance(bundle_id, str) and bundle_id else str(uuid.uuid4()),
        after={
            "counts": dict(Counter(a.outcome for a in flat)),
            "entries": [[a.observation_id, a.version_id, a.outcome, a.grade] for a in flat],
        },
    )


def _answer_item(request: _Request, item: Planned) -> LabIntakeOut:
    if item.action == "skip":
        return LabIntakeOut.of(200, "skipped", item.reason)
    if item.action == "observation":
        return _isolated(request, item.work[0])
    results = [_isolated(request, work) for work in item.work]
    return _group_answer(item, results)


def _group_answer(item: Planned, results: list[LabIntakeOut]) -> LabIntakeOut:
    resource = item.entry.resource or {}
    label = f"{resource.get('resourceType')}/{resource.get('id') or item.entry.full_url or '-'}"
    parts = []
    if item.in_bundle:
        parts.append(f"{item.in_bundle} of its results are answered in their own entries")
    if results:
        counts = Counter(result.outcome for result in results)
        parts.append(
            f"{len(results)} contained results: "
            + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        )
    if item.unresolved:
        shown = ", ".join(item.unresolved[:5])
        parts.append(
            f"{len(item.unresolved)} results are neither in this Bundle nor contained ({shown})"
        )
    if not parts:
        parts.append("it names no results")
    created = any(result.status.startswith("201") for result in results)
    return LabIntakeOut.of(
        201 if created else 200, "report", f"{label}: " + "; ".join(parts), results=results
    )


def _isolated(request: _Request, work: Work) -> LabIntakeOut:
    """One Observation in its own savepoint: a refused one leaves nothing behind."""
    savepoint = request.session.begin_nested()
    try:
        answer = _receive(request, work)
        savepoint.commit()
    except EntryRejected as rejected:
        savepoint.rollback()
        answer = _refused(request, work, rejected.status, rejected.detail)
    except DoselineError as error:
        savepoint.rollback()
        answer = _refused(request, work, error.status, error.detail)
    except IntegrityError:
        # The same Observation delivered concurrently by another request: it got there first.
        savepoint.rollback()
        answer = _refused(
            request,
            work,
            409,
            "delivered concurrently by another request; resend to see its outcome",
        )
    return answer


def _refused(request: _Request, work: Work, status: int, detail: str) -> LabIntakeOut:
    observation_id, version_id = identity.identity(work.resource, full_url=work.full_url)
    # A later copy of a refused entry is refused for itself, not called a duplicate.
    request.seen.pop((observation_id, version_id), None)
    return LabIntakeOut.of(
        status,
        "rejected",
        detail,
        observation_id=observation_id,
        version_id=version_id,
    )


def _receive(request: _Request, work: Work) -> LabIntakeOut:
    result = parse(work.resource, full_url=work.full_url, fallback=work.fallback)
    session = request.session

    def answer(status: int, outcome: EntryOutcome, detail: str, **extra: Any) -> LabIntakeOut:
        return LabIntakeOut.of(
            status,
            outcome,
            detail,
            observation_id=result.observation_id,
            version_id=result.version_id,
            **extra,
        )

    key = (result.observation_id, result.version_id)
    for known, where in ((request.seen, "earlier in this Bundle"), (request.received, "before")):
        if key not in known:
            continue
        earlier = known[key]
        # A result received before content hashes were kept compares as the same content.
        if earlier is None or earlier == result.content_hash:
            return answer(200, "duplicate", f"this Observation version was received {where}")
        return _conflict(request, result, recorded_hash=earlier)
    request.seen[key] = result.content_hash
    mapped = lab_terms_for(list(result.loinc_codes))
    if mapped is None:
        return answer(200, "skipped", _not_graded(result))
    matched = request.matcher.match(result)
    subject = matched.subject
    proposal = repository.proposal_for_observation(
        session, request.sender, result.observation_id, lock=True
    )
    if result.status == "entered-in-error":
        if proposal is not None and proposal.status == "proposed":
            proposals.withdraw(
                session,
                proposal,
                result,
                actor=request.actor,
                now=request.now,
                why="entered in error",
            )
            return answer(
                200, "withdrawn", "the result was entered in error", proposal_id=proposal.id
            )
        return answer(200, "ignored", "entered in error; no open proposal to withdraw")
    if result.status not in GRADED_STATUSES:
        return answer(200, "ignored", f"status {result.status!r} results are not graded")
    if result.value is None:
        raise EntryRejected(
            result.value_problem
            or "Observation.valueQuantity (a value and a unit) is required to grade the result"
        )
    if result.unit is None:
        raise EntryRejected(
            "Observation.valueQuantity has no unit (code or unit): the grade depends on it"
        )
    check_magnitudes(result)
    value, unit = result.value, result.unit
    if result.effective is None:
        raise EntryRejected(
            "Observation.effective[x] is required (or issued, or the time of the "
            "DiagnosticReport it belongs to): it is the onset date"
        )
    loinc, lab_terms = mapped
    onset = _site_date(result.effective, subject)
    outside = _outside_reporting_period(request, subject, onset)
    if outside is not None:
        _store(
            request,
            result,
            subject,
            loinc=loinc,
            value=value,
            unit=unit,
            onset=onset,
            history=outside,
        )
        if proposal is not None and proposal.status == "proposed":
            proposals.withdraw(
                session, proposal, result, actor=request.actor, now=request.now, why=outside
            )
        return answer(201, "history", outside)
    site_range = None
    if needs_site_range(result):
        site_range = request.site_range(
            trial_id=subject.trial_id,
            site_id=subject.site_id,
            loinc=loinc,
            unit=unit,
            sex=matched.person.sex,
            age_years=matched.person.age_on(onset),
        )
    facts = lab_facts(session, result, subject, loinc=loinc, site_range=site_range)
    try:
        verdict = lab_grading.grade(lab_terms, value=value, unit=unit, facts=facts)
    except lab_grading.NeedsReferenceRange as missing:
        limits = " and ".join(name.upper() for name in missing.limits)
        lacking = f" (for the site's range: {site_range.missing})" if site_range else ""
        raise EntryRejected(
            f"needs a reference range: the grade of {result.describe_code()} depends on the "
            f"{limits}; send Observation.referenceRange, or set the site's range{lacking}"
        ) from None
    except lab_grading.UngradableResult as error:
        raise EntryRejected(f"the result cannot be graded: {error}") from None
    if site_range is not None and site_range.missing is None:
        verdict.basis["reference_range_origin"] = site_range.origin
    _store(
        request,
        result,
        subject,
        loinc=loinc,
        value=value,
        unit=unit,
        onset=onset,
        verdict=verdict,
    )
    return _propose_or_update(request, result, subject, proposal, verdict, onset, answer)


def _propose_or_update(
    request: _Request,
    result: LabResult,
    subject: SubjectRow,
    proposal: Any,
    verdict: lab_grading.LabVerdict,
    onset: date,
    answer: Callable[..., LabIntakeOut],
) -> LabIntakeOut:
    session, actor, now = request.session, request.actor, request.now
    if proposal is not None and identity.is_older(
        result.version_id, proposal.observation_version_id
    ):
        return answer(
            200,
            "stale",
            "an older version than the one already graded; proposal unchanged",
            proposal_id=proposal.id,
        )
    graded = verdict.grade is not None and verdict.grade >= 1
    if proposal is None:
        if not graded:
            return answer(
                201, "graded", verdict.reason, term=verdict.term_name, grade=verdict.grade
            )
        term = request.term(verdict.meddra_code)
        created = proposals.propose(
            session,
            subject,
            result,
            verdict,
            onset,
            term,
            source=request.sender,
            actor=actor,
            now=now,
        )
        return answer(
            201,
            "proposed",
            verdict.reason,
            proposal_id=created.id,
            term=verdict.term_name,
            grade=verdict.grade,
        )
    if not graded:
        if proposal.status == "proposed":
            proposals.withdraw(session, proposal, result, actor=actor, now=now, why=verdict.reason)
            return answer(
                200, "withdrawn", verdict.reason, proposal_id=proposal.id, grade=verdict.grade
            )
        return answer(200, "graded", verdict.reason, proposal_id=proposal.id, grade=verdict.grade)
    term = request.term(verdict.meddra_code)
    proposals.update(session, proposal, result, verdict, onset, term, actor=actor, now=now)
    return answer(
        200,
        "updated",
        verdict.reason,
        proposal_id=proposal.id,
        term=verdict.term_name,
        grade=verdict.grade,
    )


def _store(
    request: _Request,
    result: LabResult,
    subject: SubjectRow,
    *,
    loinc: str,
    value: Decimal,
    unit: str,
    onset: date,
    verdict: lab_grading.LabVerdict | None = None,
    history: str | None = None,
) -> None:
    request.session.add(
        LabObservationRow(
            id=uuid.uuid4(),
            source=request.sender,
            observation_id=result.observation_id,
            version_id=result.version_id,
            status=result.status,
            subject_id=subject.subject_id,
            loinc=loinc,
            term_code=verdict.meddra_code if verdict is not None else None,
            value=value,
            unit=unit,
            effective_on=onset,
            grade=verdict.grade if verdict is not None else None,
            grading_reason=verdict.reason if verdict is not None else str(history),
            received_at=request.now,
            received_by=request.actor,
            outcome="graded" if verdict is not None else "history",
            content_hash=result.content_hash,
        )
    )
    request.session.flush()


def _conflict(request: _Request, result: LabResult, *, recorded_hash: str) -> LabIntakeOut:
    """The same id and version with other content: kept for review, never a silent duplicate."""
    subject = request.matcher.match(result).subject
    recorded = repository.observation(
        request.session, request.sender, result.observation_id, result.version_id
    )
    summary = {
        "received": _clinical_summary(result),
        "recorded": None
        if recorded is None
        else {
            "loinc": recorded.loinc,
            "value": str(recorded.value),
            "unit": recorded.unit,
            "effective_on": recorded.effective_on.isoformat(),
            "status": recorded.status,
        },
    }
    flagged = repository.add_conflict(
        request.session,
        LabIntakeConflictRow(
            id=uuid.uuid4(),
            source=request.sender,
            observation_id=result.observation_id,
            version_id=result.version_id,
            content_hash=result.content_hash,
            recorded_content_hash=recorded_hash,
            subject_id=subject.subject_id,
            summary=summary,
            received_at=request.now,
            received_by=request.actor,
        ),
    )
    if flagged:
        audit.record(
            request.session,
            actor=request.actor,
            action="ehr.version_conflict",
            entity_type="lab_observation",
            entity_id=f"{result.observation_id}/{result.version_id}",
            after=summary,
        )
    return LabIntakeOut.of(
        409,
        "conflict",
        f"Observation {result.observation_id} version {result.version_id} was received before "
        "with different content; this delivery is kept for review (GET /v1/lab-intake-conflicts) "
        "and changes nothing: send a new version (meta.versionId) with status amended or "
        "corrected",
        observation_id=result.observation_id,
        version_id=result.version_id,
    )


def _clinical_summary(result: LabResult) -> dict[str, Any]:
    effective = result.effective
    return {
        "loinc": result.loinc_codes[0] if result.loinc_codes else None,
        "value": str(result.value) if result.value is not None else None,
        "unit": result.unit,
        "effective": effective.isoformat() if effective is not None else None,
        "status": result.status,
    }


def _not_graded(result: LabResult) -> str:
    kinds = [_CATEGORY_NAMES[c] for c in result.categories if c in _CATEGORY_NAMES]
    if not result.loinc_codes:
        return (
            "not graded: Observation.code has no LOINC coding (system http://loinc.org), so no "
            "CTCAE term can be chosen for it"
        )
    if kinds:
        return f"not graded: {result.describe_code()} is {kinds[0]}, not a laboratory result"
    return (
        f"not graded: no CTCAE v5.0 term is graded from {result.describe_code()} "
        "(the codes graded are listed by `safety loinc-coverage`)"
    )


def _outside_reporting_period(request: _Request, subject: SubjectRow, onset: date) -> str | None:
    """Why a result dated `onset` cannot propose an AE for the subject; None when it can."""
    first = subject.first_infusion_on
    if first is None:
        return (
            f"history: dated {onset.isoformat()}, before the subject's first infusion (none "
            "recorded yet); kept for the baseline, no adverse event proposed"
        )
    if onset < first:
        return (
            f"history: dated {onset.isoformat()}, before the first infusion on "
            f"{first.isoformat()} (the start of the AE reporting period); kept for the "
            "baseline, no adverse event proposed"
        )
    if subject.last_infusion_at is None:
        return None
    rules = request.rules_in_force(subject.trial_id, onset)
    if rules is None:
        return None
    months = rules.rules.ae_reporting_period.months_after_last_infusion
    last = sitetime.site_date(subject.last_infusion_at, subject.site_time_zone)
    end = sitetime.add_months(last, months)
    if onset > end:
        return (
            f"history: dated {onset.isoformat()}, after the AE reporting period ended on "
            f"{end.isoformat()} ({months} months after the last infusion); no adverse event "
            "proposed"
        )
    return None


def _site_date(effective: datetime | date, subject: SubjectRow) -> date:
    if not isinstance(effective, datetime):
        return effective
    if effective.tzinfo is None:
        raise EntryRejected("Observation.effectiveDateTime needs a time-zone offset")
    return sitetime.site_date(effective, subject.site_time_zone)


CONFLICT_ORDER = pagination.Keyset(received_at=datetime, id=uuid.UUID)
PROPOSAL_ORDER = pagination.Keyset(updated_at=datetime, id=uuid.UUID)


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
    """Proposed AEs in the order they last changed, `limit` after the cursor."""
    rows = repository.proposals(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        status=status,
        after=PROPOSAL_ORDER.read(cursor),
        limit=limit + 1,
        principal=principal,
    )
    page = PROPOSAL_ORDER.page(rows, limit=limit, key=lambda row: (row.updated_at, row.id))
    return page.shown_as(ProposalOut.of)
