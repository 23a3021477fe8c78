"""What one received Observation becomes: a duplicate, a conflict, history, a grade, a proposal.

- Identity: id + version (doseline.fhir.identity). The same id and version again is a duplicate
  when its clinical content is the same (known from its content hash, without reading it
  again), and a conflict (kept for review, answered 409) when it is not. A later version with
  status amended/corrected updates the earlier proposal (COMPLIANCE-AND-API.md §5.7: ingest
  result status and version, re-run grading on corrections).
- No invented adverse events: only a result dated within the AE reporting period (period.py)
  can propose one. A result whose grade depends on a normal range nobody gave is refused as
  "needs a reference range", never graded by a worst-case assumption.

Nothing here writes: the rows are staged on the request (context.py, staging.py), and an entry
that is refused raises EntryRejected (or a DoselineError) before it stages anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Final, Protocol

from doseline.fhir import identity
from safety.catalogue.models import CtcaeTermRow
from safety.ehr import answers, lab_grading, proposals
from safety.ehr.context import Intake
from safety.ehr.facts import lab_facts, needs_site_range
from safety.ehr.loinc import lab_terms_for
from safety.ehr.matching import Matched
from safety.ehr.models import LabIntakeConflictRow, ProposedAdverseEventRow
from safety.ehr.period import outside_reporting_period, site_date
from safety.ehr.plan import Work
from safety.ehr.reading import EntryRejected, LabResult, check_magnitudes, parse
from safety.ehr.schemas import EntryOutcome, LabIntakeOut
from safety.ehr.staging import AuditNote
from safety.grading.lab_criteria import LabTerm
from safety.subjects.models import SubjectRow

GRADED_STATUSES: Final = frozenset({"final", "amended", "corrected"})


class Answer(Protocol):
    def __call__(
        self, status: int, outcome: EntryOutcome, detail: str, **extra: Any
    ) -> LabIntakeOut: ...


@dataclass(frozen=True)
class Measured:
    """A result that can be graded: its code, number, unit and site day."""

    loinc: str
    lab_terms: tuple[LabTerm, ...]
    value: Decimal
    unit: str
    onset: date


def receive(intake: Intake, work: Work) -> LabIntakeOut:
    key = work.key
    answer: Answer = partial(_answer, observation_id=key[0], version_id=key[1])
    repeated = _repeated(intake, work, key)
    if repeated is not None and repeated.same:
        # The same content was read and stored before: it is not read again.
        return answer(200, "duplicate", f"this Observation version was received {repeated.where}")
    result = parse(work.resource, full_url=work.full_url, fallback=work.fallback)
    if repeated is not None:
        return _conflict(intake, result, recorded_hash=repeated.recorded_hash)
    intake.seen[key] = result.content_hash
    mapped = lab_terms_for(list(result.loinc_codes))
    if mapped is None:
        return answer(200, "skipped", answers.not_graded(result))
    matched = intake.matcher.match(result)
    proposal = intake.proposals.get(result.observation_id)
    if result.status == "entered-in-error":
        if proposal is not None and proposal.status == "proposed":
            _withdraw(intake, proposal, result, "entered in error")
            return answer(
                200, "withdrawn", "the result was entered in error", proposal_id=proposal.id
            )
        return answer(200, "ignored", "entered in error; no open proposal to withdraw")
    if result.status not in GRADED_STATUSES:
        return answer(200, "ignored", f"status {result.status!r} results are not graded")
    loinc, lab_terms = mapped
    measured = _measured(result, matched.subject, loinc, lab_terms)
    outside = outside_reporting_period(matched.subject, measured.onset, intake.rules_in_force)
    if outside is not None:
        _store(intake, result, matched.subject, measured, history=outside)
        if proposal is not None and proposal.status == "proposed":
            _withdraw(intake, proposal, result, outside)
        return answer(201, "history", outside)
    verdict = _graded(intake, result, matched, measured)
    return _propose_or_update(intake, result, matched.subject, proposal, verdict, measured, answer)


def _answer(
    status: int,
    outcome: EntryOutcome,
    detail: str,
    *,
    observation_id: str,
    version_id: str,
    **extra: Any,
) -> LabIntakeOut:
    return LabIntakeOut.of(
        status, outcome, detail, observation_id=observation_id, version_id=version_id, **extra
    )


@dataclass(frozen=True)
class Repeat:
    """An id and version received before, or earlier in this request."""

    same: bool
    recorded_hash: str
    where: str


def _repeated(intake: Intake, work: Work, key: tuple[str, str]) -> Repeat | None:
    """A result received before content hashes were kept compares as the same content."""
    for known, where in ((intake.seen, "earlier in this Bundle"), (intake.received, "before")):
        if key not in known:
            continue
        earlier = known[key]
        same = earlier is None or earlier == identity.content_hash(work.resource)
        # Anything but an Observation is refused as such, whatever it repeats.
        same = same and work.resource.get("resourceType") == "Observation"
        return Repeat(same=same, recorded_hash=earlier or "", where=where)
    return None


def _measured(
    result: LabResult, subject: SubjectRow, loinc: str, lab_terms: tuple[LabTerm, ...]
) -> Measured:
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
    if result.effective is None:
        raise EntryRejected(
            "Observation.effective[x] is required (or issued, or the time of the "
            "DiagnosticReport it belongs to): it is the onset date"
        )
    onset = site_date(result.effective, subject)
    return Measured(loinc, lab_terms, result.value, result.unit, onset)


def _graded(
    intake: Intake, result: LabResult, matched: Matched, measured: Measured
) -> lab_grading.LabVerdict:
    subject = matched.subject
    site_range = None
    if needs_site_range(result):
        site_range = intake.site_range(
            trial_id=subject.trial_id,
            site_id=subject.site_id,
            loinc=measured.loinc,
            unit=measured.unit,
            sex=matched.person.sex,
            age_years=matched.person.age_on(measured.onset),
        )
    facts = lab_facts(
        result,
        site_range=site_range,
        earlier=partial(intake.earlier, subject, measured.loinc, other_than=result.observation_id),
    )
    try:
        verdict = lab_grading.grade(
            measured.lab_terms, value=measured.value, unit=measured.unit, facts=facts
        )
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
    return verdict


def _propose_or_update(
    intake: Intake,
    result: LabResult,
    subject: SubjectRow,
    proposal: ProposedAdverseEventRow | None,
    verdict: lab_grading.LabVerdict,
    measured: Measured,
    answer: Answer,
) -> LabIntakeOut:
    graded = verdict.grade is not None and verdict.grade >= 1
    stale = proposal is not None and identity.is_older(
        result.version_id, proposal.observation_version_id
    )
    # The term is read before anything is staged: a term missing from the dictionary refuses
    # the entry whole.
    term = intake.term(verdict.meddra_code) if graded and not stale else None
    _store(intake, result, subject, measured, verdict=verdict)
    extra: dict[str, Any] = {"term": verdict.term_name, "grade": verdict.grade}
    if proposal is not None and stale:
        return answer(
            200,
            "stale",
            "an older version than the one already graded; proposal unchanged",
            proposal_id=proposal.id,
        )
    if proposal is None:
        if term is None:
            return answer(201, "graded", verdict.reason, **extra)
        created = _propose(intake, result, subject, verdict, measured, term)
        return answer(201, "proposed", verdict.reason, proposal_id=created.id, **extra)
    if term is None:
        if proposal.status == "proposed":
            _withdraw(intake, proposal, result, verdict.reason)
            return answer(
                200, "withdrawn", verdict.reason, proposal_id=proposal.id, grade=verdict.grade
            )
        return answer(200, "graded", verdict.reason, proposal_id=proposal.id, grade=verdict.grade)
    intake.staged.audited(
        proposals.update(
            proposal, result, verdict, measured.onset, term, actor=intake.actor, now=intake.now
        )
    )
    return answer(200, "updated", verdict.reason, proposal_id=proposal.id, **extra)


def _propose(
    intake: Intake,
    result: LabResult,
    subject: SubjectRow,
    verdict: lab_grading.LabVerdict,
    measured: Measured,
    term: CtcaeTermRow,
) -> ProposedAdverseEventRow:
    created, entry = proposals.propose(
        subject,
        result,
        verdict,
        measured.onset,
        term,
        source=intake.sender,
        actor=intake.actor,
        now=intake.now,
    )
    announcement = proposals.announcement(
        created, subject, loinc=measured.loinc, value=measured.value, unit=measured.unit
    )
    intake.staged.proposal(created, entry, announcement)
    intake.proposals[result.observation_id] = created
    return created


def _withdraw(
    intake: Intake, proposal: ProposedAdverseEventRow, result: LabResult, why: str
) -> None:
    intake.staged.audited(
        proposals.withdraw(proposal, result, actor=intake.actor, now=intake.now, why=why)
    )


def _store(
    intake: Intake,
    result: LabResult,
    subject: SubjectRow,
    measured: Measured,
    *,
    verdict: lab_grading.LabVerdict | None = None,
    history: str | None = None,
) -> None:
    intake.staged.observation(
        {
            "id": uuid.uuid4(),
            "source": intake.sender,
            "observation_id": result.observation_id,
            "version_id": result.version_id,
            "status": result.status,
            "subject_id": subject.subject_id,
            "loinc": measured.loinc,
            "term_code": verdict.meddra_code if verdict is not None else None,
            "value": measured.value,
            "unit": measured.unit,
            "effective_on": measured.onset,
            "grade": verdict.grade if verdict is not None else None,
            "grading_reason": verdict.reason if verdict is not None else str(history),
            "received_at": intake.now,
            "received_by": intake.actor,
            "outcome": "graded" if verdict is not None else "history",
            "content_hash": result.content_hash,
        }
    )


def _conflict(intake: Intake, result: LabResult, *, recorded_hash: str) -> LabIntakeOut:
    """The same id and version with other content: kept for review, never a silent duplicate."""
    subject = intake.matcher.match(result).subject
    key = (result.observation_id, result.version_id)
    summary = {
        "received": answers.clinical_summary(result),
        "recorded": intake.recorded(key),
    }
    intake.staged.conflict(
        LabIntakeConflictRow(
            id=uuid.uuid4(),
            source=intake.sender,
            observation_id=result.observation_id,
            version_id=result.version_id,
            content_hash=result.content_hash,
            recorded_content_hash=recorded_hash,
            subject_id=subject.subject_id,
            summary=summary,
            received_at=intake.now,
            received_by=intake.actor,
        ),
        AuditNote(
            actor=intake.actor,
            action="ehr.version_conflict",
            entity_type="lab_observation",
            entity_id=f"{result.observation_id}/{result.version_id}",
            after=summary,
        ),
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
