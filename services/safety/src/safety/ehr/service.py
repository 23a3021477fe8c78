"""FHIR R4 lab intake: match the subject, grade the result, propose an adverse event.

Each Observation (alone or in a Bundle) is processed on its own, with its own outcome, like a
FHIR batch: one unusable entry never fails the others. Observation id + meta.versionId are
received once; a later version with status amended/corrected updates the earlier proposal
(COMPLIANCE-AND-API.md §5.7: ingest result status and version, re-run grading on corrections).

The clinical facts a CTCAE criterion reads come with the result: `Observation.referenceRange`
(LLN, ULN); components, or contained Observations the result names in `hasMember`, coded in
`urn:doseline:ctcae-fact` with the fact's name (`symptomatic`, `mi_level`, …, as POST
/v1/grading/lab takes them) and a valueBoolean or valueQuantity; `effectivePeriod` (the
collection period of a urine output). The baseline, unless given, is the subject's latest result
of the same LOINC code on or before the first infusion, from what this service received.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doseline import audit, sitetime
from doseline.auth import Principal
from doseline.errors import Conflict, DoselineError, InvalidInput
from doseline.identity import hospital_id_hash
from safety.adverse_events import service as adverse_events
from safety.adverse_events.schemas import AdverseEventContent, AdverseEventIn
from safety.catalogue import service as catalogue
from safety.catalogue.models import CtcaeTermRow
from safety.ehr import lab_grading, repository
from safety.ehr.loinc import LOINC_SYSTEM, lab_terms_for
from safety.ehr.models import LabObservationRow, ProposedAdverseEventRow
from safety.ehr.schemas import AcceptanceIn, EntryOutcome, IntakeEntry, IntakeResult
from safety.grading import units
from safety.grading_assistance.schemas import LabFactsIn
from safety.subjects import repository as subjects
from safety.subjects.models import SubjectRow

STUDY_SUBJECT_SYSTEM = "urn:doseline:study-subject-id"
FACT_SYSTEM = "urn:doseline:ctcae-fact"
CTCAE_VERSION = "5.0"
GRADED_STATUSES = frozenset({"final", "amended", "corrected"})
CORRECTION_STATUSES = frozenset({"amended", "corrected"})
# FHIR R4 ObservationStatus (a required binding).
OBSERVATION_STATUSES = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
MAX_ENTRIES = 5000
MAX_UNIT_LENGTH = 40
# No laboratory quantity in CTCAE reaches 10^15 in any unit it is graded in.
MAX_MAGNITUDE = 15


class EntryRejected(Exception):
    """An entry cannot be used; the message says why (reported per entry, never a 500)."""

    def __init__(self, detail: str, status: str = "422 Unprocessable Entity") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class LabResult:
    """The parts of an Observation that grading needs."""

    observation_id: str
    version_id: str
    status: str
    identifier_system: str
    identifier_value: str
    loinc_codes: tuple[str, ...]
    value: Decimal | None
    unit: str | None
    low: Decimal | None
    high: Decimal | None
    effective: datetime | date | None
    facts: dict[str, Any] = field(default_factory=dict)
    collection_hours: Decimal | None = None


@dataclass
class _Lookups:
    """Subjects and CTCAE terms read once per request (the session's identity map is weak)."""

    # A subject of another site than the sender's is, for the sender, no subject at all.
    can_access_site: Callable[[str], bool]
    subjects: dict[tuple[str, str], SubjectRow] = field(default_factory=dict)
    terms: dict[str, CtcaeTermRow] = field(default_factory=dict)

    def term(self, session: Session, meddra_code: str) -> CtcaeTermRow:
        if meddra_code not in self.terms:
            self.terms[meddra_code] = catalogue.require_term(session, CTCAE_VERSION, meddra_code)
        return self.terms[meddra_code]


def resources_of(payload: Any) -> list[tuple[int, Any]]:
    """The Observations of a request: one resource, or the entries of a Bundle."""
    if not isinstance(payload, dict):
        raise InvalidInput.at(["body"], "send a FHIR Observation or Bundle JSON object")
    kind = payload.get("resourceType")
    if kind == "Observation":
        return [(0, payload)]
    if kind != "Bundle":
        raise InvalidInput.at(
            ["body", "resourceType"], f"expected 'Observation' or 'Bundle', not {kind!r}"
        )
    entries = payload.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidInput.at(["body", "entry"], "must be a list of Bundle entries")
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput.at(
            ["body", "entry"], f"{len(entries)} entries; send at most {MAX_ENTRIES} per Bundle"
        )
    return [
        (index, entry.get("resource") if isinstance(entry, dict) else None)
        for index, entry in enumerate(entries)
    ]


def intake(
    session: Session,
    payload: Any,
    *,
    identifier_key: str,
    actor: str,
    now: datetime,
    principal: Principal,
) -> IntakeResult:
    resources = resources_of(payload)
    # One query finds every (id, versionId) received before, so a re-delivered Bundle is cheap.
    keys = {key for _, resource in resources if (key := _raw_key(resource)) is not None}
    received = repository.received_keys(session, keys)
    seen: set[tuple[str, str]] = set()
    lookups = _Lookups(can_access_site=principal.can_access_site)
    entries: list[IntakeEntry] = []
    for index, resource in resources:
        key = _raw_key(resource)
        if key is not None and (key in received or key in seen):
            where = "received before" if key in received else "earlier in this Bundle"
            entries.append(
                IntakeEntry(
                    index=index,
                    observation_id=key[0],
                    version_id=key[1],
                    outcome="duplicate",
                    status="200 OK",
                    detail=f"this Observation version was {where}",
                )
            )
            continue
        if key is not None:
            seen.add(key)
        entries.append(
            _process_isolated(
                session,
                index,
                resource,
                identifier_key=identifier_key,
                actor=actor,
                now=now,
                lookups=lookups,
            )
        )
    result = IntakeResult(entries=entries, counts=dict(Counter(e.outcome for e in entries)))
    # One audit entry per delivery: every result received, its version and what became of it
    # (proposals have their own entries as well).
    bundle_id = payload.get("id") if isinstance(payload, dict) else None
    audit.record(
        session,
        actor=actor,
        action="ehr.observations_received",
        entity_type="fhir_delivery",
        entity_id=bundle_id if isinstance(bundle_id, str) and bundle_id else str(uuid.uuid4()),
        after={
            "counts": result.counts,
            "entries": [
                [e.observation_id, e.version_id, e.outcome, e.grade] for e in result.entries
            ],
        },
    )
    return result


def _raw_key(resource: Any) -> tuple[str, str] | None:
    if not isinstance(resource, dict):
        return None
    observation_id, meta = resource.get("id"), resource.get("meta")
    version_id = meta.get("versionId") if isinstance(meta, dict) else None
    if isinstance(observation_id, str) and isinstance(version_id, str):
        return observation_id, version_id
    return None


def _process_isolated(
    session: Session,
    index: int,
    resource: Any,
    *,
    identifier_key: str,
    actor: str,
    now: datetime,
    lookups: _Lookups,
) -> IntakeEntry:
    """One entry in its own savepoint: a rejected entry leaves nothing behind."""
    savepoint = session.begin_nested()
    try:
        entry = _process(
            session,
            index,
            resource,
            identifier_key=identifier_key,
            actor=actor,
            now=now,
            lookups=lookups,
        )
        savepoint.commit()
    except EntryRejected as rejected:
        savepoint.rollback()
        entry = _rejected(index, resource, rejected.detail, rejected.status)
    except DoselineError as error:
        savepoint.rollback()
        entry = _rejected(index, resource, error.detail, f"{error.status} {error.title}")
    except IntegrityError:
        # The same Observation delivered concurrently by another request: it got there first.
        savepoint.rollback()
        entry = _rejected(
            index,
            resource,
            "delivered concurrently by another request; resend to see its outcome",
            "409 Conflict",
        )
    return entry


def _rejected(index: int, resource: Any, detail: str, status: str) -> IntakeEntry:
    observation_id = resource.get("id") if isinstance(resource, dict) else None
    meta = resource.get("meta") if isinstance(resource, dict) else None
    version_id = meta.get("versionId") if isinstance(meta, dict) else None
    return IntakeEntry(
        index=index,
        observation_id=observation_id if isinstance(observation_id, str) else None,
        version_id=version_id if isinstance(version_id, str) else None,
        outcome="rejected",
        status=status,
        detail=detail,
    )


def parse(resource: Any) -> LabResult:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        raise EntryRejected("the entry's resource is not a FHIR Observation")
    try:
        observation = Observation.model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise EntryRejected(f"not a valid FHIR R4 Observation: {where}: {first['msg']}") from None
    if str(observation.status) not in OBSERVATION_STATUSES:
        raise EntryRejected(
            f"not a valid FHIR R4 Observation: status {observation.status!r} is not one of "
            + ", ".join(sorted(OBSERVATION_STATUSES))
        )
    if not observation.id:
        raise EntryRejected("Observation.id is required (it identifies the result)")
    if observation.meta is None or not observation.meta.versionId:
        raise EntryRejected("Observation.meta.versionId is required (it dedupes deliveries)")
    reference = observation.subject
    identifier = reference.identifier if reference is not None else None
    if identifier is None or not identifier.system or not identifier.value:
        raise EntryRejected(
            "Observation.subject.identifier with system and value is required to find the subject"
        )
    codes = tuple(
        coding.code
        for coding in (observation.code.coding or [])
        if coding.system == LOINC_SYSTEM and coding.code
    )
    quantity = observation.valueQuantity
    ranges = observation.referenceRange or []
    low = ranges[0].low.value if ranges and ranges[0].low is not None else None
    high = ranges[0].high.value if ranges and ranges[0].high is not None else None
    effective: datetime | date | None = observation.effectiveDateTime
    collection_hours: Decimal | None = None
    period = observation.effectivePeriod
    if effective is None and period is not None:
        effective = period.start
        if period.start is not None and period.end is not None:
            seconds = Decimal(str((period.end - period.start).total_seconds()))
            collection_hours = round(seconds / 3600, 4)
    if effective is None:
        effective = observation.issued
    return LabResult(
        observation_id=observation.id,
        version_id=observation.meta.versionId,
        status=str(observation.status),
        identifier_system=identifier.system,
        identifier_value=identifier.value,
        loinc_codes=codes,
        value=Decimal(str(quantity.value))
        if quantity is not None and quantity.value is not None
        else None,
        unit=(quantity.code or quantity.unit) if quantity is not None else None,
        low=Decimal(str(low)) if low is not None else None,
        high=Decimal(str(high)) if high is not None else None,
        effective=effective,
        facts=_facts(resource),
        collection_hours=collection_hours,
    )


def _facts(resource: dict[str, Any]) -> dict[str, Any]:
    """Facts coded in FACT_SYSTEM: from components and from contained Observations in hasMember.

    Components and members in other code systems (a panel's LOINC parts) are not facts.
    """
    sources: list[tuple[str, Any]] = [
        (f"component[{index}]", component)
        for index, component in enumerate(resource.get("component") or [])
    ]
    contained = {
        f"#{item.get('id')}": item
        for item in resource.get("contained") or []
        if isinstance(item, dict) and item.get("resourceType") == "Observation"
    }
    for index, member in enumerate(resource.get("hasMember") or []):
        reference = member.get("reference") if isinstance(member, dict) else None
        if reference in contained:
            sources.append((f"hasMember[{index}] ({reference})", contained[reference]))
    found: dict[str, Any] = {}
    for where, source in sources:
        codings = (source.get("code") or {}).get("coding") or []
        names = [c.get("code") for c in codings if c.get("system") == FACT_SYSTEM]
        if not names:
            continue
        name = str(names[0])
        if "valueBoolean" in source:
            value: Any = source["valueBoolean"]
        elif "valueQuantity" in source:
            value = (source["valueQuantity"] or {}).get("value")
        else:
            value = source.get("valueInteger")
        if value is None:
            raise EntryRejected(f"{where}: fact {name!r} needs a valueBoolean or valueQuantity")
        if name in found:
            raise EntryRejected(f"{where}: fact {name!r} is given twice")
        found[name] = value
    for name in ("lln", "uln"):
        if name in found:
            raise EntryRejected(
                f"fact {name!r}: give the reference range in Observation.referenceRange"
            )
    return found


def lab_facts(
    session: Session, result: LabResult, subject: SubjectRow, *, loinc: str
) -> LabFactsIn:
    """Everything the criterion may read: the result's facts, its range, the subject's baseline."""
    given: dict[str, Any] = {"lln": result.low, "uln": result.high, **result.facts}
    if "collection_hours" not in given and result.collection_hours is not None:
        given["collection_hours"] = result.collection_hours
    if "baseline" not in given and result.unit is not None:
        given["baseline"] = _subject_baseline(session, result, subject, loinc=loinc)
    try:
        return LabFactsIn.model_validate(given)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise EntryRejected(
            f"fact {name!r}: {first['msg']} (facts are coded in {FACT_SYSTEM}: "
            f"{', '.join(sorted(set(LabFactsIn.model_fields) - {'lln', 'uln'}))})"
        ) from None


def _subject_baseline(
    session: Session, result: LabResult, subject: SubjectRow, *, loinc: str
) -> Decimal | None:
    """The subject's latest result of this test on or before the first infusion, in its unit."""
    if subject.first_infusion_on is None or result.unit is None:
        return None
    earlier = repository.pre_treatment_results(
        session,
        subject.subject_id,
        loinc,
        on_or_before=subject.first_infusion_on,
        other_than=result.observation_id,
    )
    try:
        unit = units.parse_unit(result.unit)
    except units.UnknownUnitError:
        return None
    for row in earlier:
        try:
            their_unit = units.parse_unit(row.unit)
        except units.UnknownUnitError:
            continue
        if their_unit.dimension is unit.dimension:
            return round(units.convert(row.value, their_unit, unit), 6)
    return None


def match_subject(
    session: Session, result: LabResult, *, identifier_key: str, lookups: _Lookups
) -> SubjectRow:
    key = (result.identifier_system, result.identifier_value)
    if key not in lookups.subjects:
        lookups.subjects[key] = _find_subject(
            session, result, identifier_key=identifier_key, visible=lookups.can_access_site
        )
    return lookups.subjects[key]


def _find_subject(
    session: Session, result: LabResult, *, identifier_key: str, visible: Callable[[str], bool]
) -> SubjectRow:
    if result.identifier_system == STUDY_SUBJECT_SYSTEM:
        subject = subjects.subject(session, result.identifier_value)
    else:
        id_hash = hospital_id_hash(
            identifier_key, system=result.identifier_system, value=result.identifier_value
        )
        subject = subjects.subject_by_hospital_hash(session, id_hash)
    if subject is None or subject.enrolled_at is None or not visible(subject.site_id):
        raise EntryRejected(
            "no enrolled subject has this identifier (system "
            f"{result.identifier_system!r}); check the identifier, or resend after enrolment",
            status="404 Not Found",
        )
    return subject


def _process(
    session: Session,
    index: int,
    resource: Any,
    *,
    identifier_key: str,
    actor: str,
    now: datetime,
    lookups: _Lookups,
) -> IntakeEntry:
    result = parse(resource)

    def entry(outcome: EntryOutcome, status: str, detail: str, **extra: Any) -> IntakeEntry:
        return IntakeEntry(
            index=index,
            observation_id=result.observation_id,
            version_id=result.version_id,
            outcome=outcome,
            status=status,
            detail=detail,
            **extra,
        )

    if repository.observation(session, result.observation_id, result.version_id) is not None:
        return entry("duplicate", "200 OK", "this Observation version was received before")
    subject = match_subject(session, result, identifier_key=identifier_key, lookups=lookups)
    proposal = repository.proposal_for_observation(session, result.observation_id, lock=True)
    if result.status == "entered-in-error":
        if proposal is not None and proposal.status == "proposed":
            _withdraw(session, proposal, result, actor=actor, now=now, why="entered in error")
            return entry(
                "withdrawn", "200 OK", "the result was entered in error", proposal_id=proposal.id
            )
        return entry("ignored", "200 OK", "entered in error; no open proposal to withdraw")
    if result.status not in GRADED_STATUSES:
        return entry("ignored", "200 OK", f"status {result.status!r} results are not graded")
    mapped = lab_terms_for(list(result.loinc_codes))
    if mapped is None:
        raise EntryRejected(
            f"no CTCAE lab term is graded from LOINC code(s) {list(result.loinc_codes) or 'none'}"
        )
    if result.value is None or result.unit is None:
        raise EntryRejected("Observation.valueQuantity with a value and a unit is required")
    for name, number in (("value", result.value), ("low", result.low), ("high", result.high)):
        if number is None:
            continue
        if not number.is_finite() or number.adjusted() > MAX_MAGNITUDE:
            raise EntryRejected(f"the {name} {number} is out of range for a laboratory result")
    if len(result.unit) > MAX_UNIT_LENGTH:
        raise EntryRejected(f"valueQuantity unit is longer than {MAX_UNIT_LENGTH} characters")
    if result.effective is None:
        raise EntryRejected("Observation.effective[x] or issued is required (the onset date)")
    loinc, lab_terms = mapped
    facts = lab_facts(session, result, subject, loinc=loinc)
    try:
        verdict = lab_grading.grade(lab_terms, value=result.value, unit=result.unit, facts=facts)
    except lab_grading.UngradableResult as error:
        raise EntryRejected(f"the result cannot be graded: {error}") from None
    onset = _site_date(result.effective, subject)
    row = LabObservationRow(
        id=uuid.uuid4(),
        observation_id=result.observation_id,
        version_id=result.version_id,
        status=result.status,
        subject_id=subject.subject_id,
        loinc=loinc,
        term_code=verdict.meddra_code,
        value=result.value,
        unit=result.unit,
        effective_on=onset,
        grade=verdict.grade,
        grading_reason=verdict.reason,
        received_at=now,
        received_by=actor,
    )
    session.add(row)
    session.flush()
    if proposal is not None and _version_key(result.version_id) < _version_key(
        proposal.observation_version_id
    ):
        return entry(
            "stale",
            "200 OK",
            "an older version than the one already graded; proposal unchanged",
            proposal_id=proposal.id,
        )
    graded = verdict.grade is not None and verdict.grade >= 1
    if proposal is None:
        if not graded:
            return entry(
                "graded", "201 Created", verdict.reason, term=verdict.term_name, grade=verdict.grade
            )
        term = lookups.term(session, verdict.meddra_code)
        created = _propose(session, subject, result, verdict, onset, term, actor=actor, now=now)
        return entry(
            "proposed",
            "201 Created",
            verdict.reason,
            proposal_id=created.id,
            term=verdict.term_name,
            grade=verdict.grade,
        )
    if not graded:
        if proposal.status == "proposed":
            _withdraw(session, proposal, result, actor=actor, now=now, why=verdict.reason)
            return entry(
                "withdrawn", "200 OK", verdict.reason, proposal_id=proposal.id, grade=verdict.grade
            )
        return entry(
            "graded", "200 OK", verdict.reason, proposal_id=proposal.id, grade=verdict.grade
        )
    term = lookups.term(session, verdict.meddra_code)
    _update(session, proposal, result, verdict, onset, term, actor=actor, now=now)
    return entry(
        "updated",
        "200 OK",
        verdict.reason,
        proposal_id=proposal.id,
        term=verdict.term_name,
        grade=verdict.grade,
    )


def _propose(
    session: Session,
    subject: SubjectRow,
    result: LabResult,
    verdict: lab_grading.LabVerdict,
    onset: date,
    term: CtcaeTermRow,
    *,
    actor: str,
    now: datetime,
) -> ProposedAdverseEventRow:
    proposal = ProposedAdverseEventRow(
        id=uuid.uuid4(),
        observation_id=result.observation_id,
        observation_version_id=result.version_id,
        trial_id=subject.trial_id,
        subject_id=subject.subject_id,
        ctcae_version=CTCAE_VERSION,
        term_code=term.meddra_code,
        term_name=term.name,
        proposed_grade=verdict.grade or 0,
        grading_reason=verdict.reason,
        grading_basis=verdict.basis,
        onset_date=onset,
        status="proposed",
        updated_at=now,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.create",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        after=proposal_snapshot(proposal),
    )
    return proposal


def _update(
    session: Session,
    proposal: ProposedAdverseEventRow,
    result: LabResult,
    verdict: lab_grading.LabVerdict,
    onset: date,
    term: CtcaeTermRow,
    *,
    actor: str,
    now: datetime,
) -> None:
    before = proposal_snapshot(proposal)
    proposal.observation_version_id = result.version_id
    proposal.term_code = term.meddra_code
    proposal.term_name = term.name
    proposal.proposed_grade = verdict.grade or 0
    proposal.grading_reason = verdict.reason
    proposal.grading_basis = verdict.basis
    proposal.onset_date = onset
    # A decided proposal goes back to the investigator: the result it was decided on changed.
    proposal.status = "proposed"
    proposal.decided_at = None
    proposal.decided_by = None
    proposal.decision_reason = None
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.update",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=f"laboratory result {result.status} (version {result.version_id})",
    )


def _withdraw(
    session: Session,
    proposal: ProposedAdverseEventRow,
    result: LabResult,
    *,
    actor: str,
    now: datetime,
    why: str,
) -> None:
    before = proposal_snapshot(proposal)
    proposal.status = "withdrawn"
    proposal.observation_version_id = result.version_id
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.withdraw",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=why,
    )


def accept(
    session: Session,
    proposal: ProposedAdverseEventRow,
    body: AcceptanceIn,
    *,
    actor: str,
    now: datetime,
) -> uuid.UUID:
    """Accepting reports the AE (or follows it up), the proposed grade stored beside."""
    if proposal.status != "proposed":
        raise Conflict(
            f"this proposal is {proposal.status}; only an open proposal can be accepted",
            slug="proposal-not-open",
        )
    grade = body.grade if body.grade is not None else proposal.proposed_grade
    content: dict[str, Any] = {
        "ctcae_version": proposal.ctcae_version,
        "term_code": proposal.term_code,
        "verbatim": body.verbatim
        or f"{proposal.term_name} (laboratory result {proposal.observation_id})",
        "onset_date": proposal.onset_date,
        "resolution_date": body.resolution_date,
        "grade": grade,
        "seriousness": body.seriousness,
        "aware_at": body.aware_at,
        "attribution": body.attribution,
        "expected": body.expected,
        "action_taken": body.action_taken,
        "outcome": body.outcome,
    }
    proposed = adverse_events.ProposedGrade(
        grade=proposal.proposed_grade, reason=proposal.grading_reason, basis=proposal.grading_basis
    )
    try:
        if proposal.ae_id is None:
            ae = adverse_events.report(
                session,
                AdverseEventIn(subject_id=proposal.subject_id, **content),
                actor=actor,
                source="ehr",
                now=now,
                proposed=proposed,
            )
            ae_id = ae.id
        else:
            existing = adverse_events.require_adverse_event(session, proposal.ae_id, lock=True)
            adverse_events.follow_up(
                session,
                existing,
                AdverseEventContent(**content),
                reason=f"corrected laboratory result (Observation {proposal.observation_id} "
                f"version {proposal.observation_version_id})",
                actor=actor,
                now=now,
                proposed=proposed,
            )
            ae_id = existing.id
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at(["body", *[str(p) for p in first["loc"]]], first["msg"]) from None
    before = proposal_snapshot(proposal)
    proposal.status = "accepted"
    proposal.ae_id = ae_id
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.accept",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
    )
    return ae_id


def reject(
    session: Session, proposal: ProposedAdverseEventRow, *, reason: str, actor: str, now: datetime
) -> None:
    if proposal.status != "proposed":
        raise Conflict(
            f"this proposal is {proposal.status}; only an open proposal can be rejected",
            slug="proposal-not-open",
        )
    before = proposal_snapshot(proposal)
    proposal.status = "rejected"
    proposal.decided_by = actor
    proposal.decided_at = now
    proposal.decision_reason = reason
    proposal.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="proposed_ae.reject",
        entity_type="proposed_adverse_event",
        entity_id=str(proposal.id),
        before=before,
        after=proposal_snapshot(proposal),
        reason=reason,
    )


def proposal_snapshot(row: ProposedAdverseEventRow) -> dict[str, Any]:
    return {
        "observation_id": row.observation_id,
        "observation_version_id": row.observation_version_id,
        "subject_id": row.subject_id,
        "term_code": row.term_code,
        "proposed_grade": row.proposed_grade,
        "grading_reason": row.grading_reason,
        "onset_date": row.onset_date,
        "status": row.status,
        "ae_id": str(row.ae_id) if row.ae_id else None,
        "decided_by": row.decided_by,
        "decision_reason": row.decision_reason,
    }


def _site_date(effective: datetime | date, subject: SubjectRow) -> date:
    if not isinstance(effective, datetime):
        return effective
    if effective.tzinfo is None:
        raise EntryRejected("Observation.effectiveDateTime needs a time-zone offset")
    return sitetime.site_date(effective, subject.site_time_zone)


def _version_key(version_id: str) -> tuple[int, int, str]:
    """versionIds compare as numbers when they are numbers (FHIR servers count 1, 2, …)."""
    return (1, int(version_id), "") if version_id.isdigit() else (0, 0, version_id)
