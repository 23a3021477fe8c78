"""FHIR Observation intake: match the subject, derive the outcome, record once per version.

An Observation is identified by its id (else its Bundle entry's fullUrl, else a hash of its
content) and its version (meta.versionId, else meta.lastUpdated, else a hash of its content), so
that feeds that omit versionId are deduplicated too. The same id and version again returns the
assessment already recorded (a retried delivery). A new version of a known id with status
amended or corrected replaces the values (audited as a correction); entered-in-error voids the
assessment. A version older than the one recorded (numeric versionIds compared as numbers)
changes nothing. Only final, amended and corrected results are recorded.

The subject is matched through subject.identifier (the study subject id, or a hospital identifier
through its keyed hash); or, for a `Patient/<id>` reference, through the identifiers of that
Patient in the same Bundle or contained; or through the same reference from the same sender,
matched before (remembered as a keyed hash beside the hospital identifiers). A date without a
time is the site's calendar day, placed at noon in the site's time zone.

Bundles are answered entry by entry (bundles.py), each recorded in a savepoint of its own so
that one unusable entry does not undo the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from doseline import sitetime
from doseline.errors import Conflict, DoselineError, InvalidInput
from doseline.fhir.bundles import resolve
from doseline.fhir.identity import is_older
from doseline.fhir.outcomes import of_error, operation_outcome, response_entry
from doseline.identity import hospital_id_hash, hospital_id_hashes
from imaging.assessments import derivation, repository
from imaging.assessments import service as assessments
from imaging.assessments.derivation import Derived
from imaging.assessments.models import AssessmentRow
from imaging.fhir import bundles, observations
from imaging.fhir.observations import STUDY_SUBJECT_SYSTEM, ParsedObservation, problem
from imaging.problems import OBSERVATION_VERSION_CONFLICT, SUBJECT_NOT_KNOWN_YET
from imaging.protocols import service as protocols
from imaging.schedule import repository as schedule_repository
from imaging.schedule import service as schedule_service
from imaging.subjects import repository as subjects_repository
from imaging.subjects import service as subjects
from imaging.subjects.facts import FactDisagreement, PersonFacts

CORRECTION_STATUSES = frozenset({"amended", "corrected"})
# The keyed hash of "sender + Patient reference" is kept beside the hospital identifier hashes.
REFERENCE_SYSTEM = "urn:doseline:fhir-patient-reference"
DATE_ONLY_HOUR = 12


@dataclass(frozen=True)
class IntakeOutcome:
    assessment: AssessmentRow
    created: bool
    action: str
    """recorded, replayed, corrected, voided or older-version-ignored"""


@dataclass(frozen=True)
class Context:
    """Who sent the Observation and what else the request carried."""

    identifier_key: str
    actor: str
    sender: str
    index: dict[str, dict[str, Any]]
    """The Bundle's resources by fullUrl and 'Type/id'; empty for a lone Observation."""
    can_access_site: Callable[[str], bool]
    """The sender's site scope: a subject of another site is, for them, no subject at all."""


def _not_known(detail: str) -> Conflict:
    return Conflict(
        "no enrolled subject known to imaging has this identifier (system "
        f"{detail!r}); check it, or resend after the enrolment has arrived",
        problem=SUBJECT_NOT_KNOWN_YET,
    )


def _require_visible(session: Session, subject_id: str, context: Context) -> None:
    """An Observation already recorded for a subject of another site than the sender's."""
    site_id = subjects_repository.site_of_subject(session, subject_id)
    if site_id is not None and not context.can_access_site(site_id):
        raise _not_known(STUDY_SUBJECT_SYSTEM)


def _by_identifier(session: Session, system: str, value: str, key: str) -> str | None:
    if system == STUDY_SUBJECT_SYSTEM:
        return value
    # The systems each site declares: an alias finds the subject its site registered.
    subject = subjects_repository.subject_by_hospital_hashes(
        session,
        hospital_id_hashes(
            key, system=system, value=value, sites=protocols.sites_received(session)
        ),
    )
    return None if subject is None else subject.subject_id


def _subject_id(session: Session, parsed: ParsedObservation, context: Context) -> str:
    """The subject an Observation is about; one of another site than the sender's answers what
    an identifier no subject has answers, along the same path."""
    subject_id = _matched_subject_id(session, parsed, context)
    site_id = subjects_repository.site_of_subject(session, subject_id)
    if site_id is not None and not context.can_access_site(site_id):
        ref = parsed.subject
        if ref.system == STUDY_SUBJECT_SYSTEM:
            raise subjects.not_known_yet(subject_id)
        if ref.system is not None:
            raise _not_known(ref.system)
        raise _unmatched(str(ref.reference))
    return subject_id


def _matched_subject_id(session: Session, parsed: ParsedObservation, context: Context) -> str:
    ref = parsed.subject
    if ref.system is not None and ref.value is not None:
        found = _by_identifier(session, ref.system, ref.value, context.identifier_key)
        if found is None:
            raise _not_known(ref.system)
        return found
    reference = str(ref.reference)
    remembered = hospital_id_hash(
        context.identifier_key, system=f"{REFERENCE_SYSTEM}:{context.sender}", value=reference
    )
    patient = resolve(reference, context.index, parsed.contained)
    if patient is not None and patient.get("resourceType") == "Patient":
        return _by_patient(session, patient, reference, remembered, context)
    subject = subjects_repository.subject_by_hospital_hash(session, remembered)
    if subject is not None:
        return subject.subject_id
    raise _unmatched(reference)


def _unmatched(reference: str) -> DoselineError:
    return problem(
        f"the subject {reference} cannot be matched: give Observation.subject.identifier, or send "
        "the Patient with its identifiers in the same Bundle"
    )


def _by_patient(
    session: Session, patient: dict[str, Any], reference: str, remembered: str, context: Context
) -> str:
    identifiers = [
        (str(item["system"]), str(item["value"]))
        for item in patient.get("identifier") or []
        if isinstance(item, dict) and item.get("system") and item.get("value")
    ]
    if not identifiers:
        raise problem(
            f"the subject {reference} is a Patient without an identifier (system and value), so "
            "no enrolled subject can be matched; give Observation.subject.identifier"
        )
    for system, value in identifiers:
        found = _by_identifier(session, system, value, context.identifier_key)
        if found is not None:
            subjects.require_known(session, found)
            subjects_repository.add_hospital_hashes(session, found, [remembered])
            return found
    systems = ", ".join(sorted({system for system, _ in identifiers})[:5])
    raise Conflict(
        f"no enrolled subject known to imaging has an identifier of {reference} (systems "
        f"{systems}); check them, or resend after the enrolment has arrived",
        problem=SUBJECT_NOT_KNOWN_YET,
    )


def _performed_at(
    session: Session, parsed: ParsedObservation, subject_id: str
) -> tuple[datetime, str | None]:
    effective = parsed.effective
    if isinstance(effective, datetime):
        return effective, None
    if effective is None:
        raise problem(
            "Observation.effective[x] is required (effectiveDateTime, effectivePeriod or "
            "effectiveInstant): the time places the result on the visit calendar"
        )
    zone = subjects.require_known(session, subject_id).site_time_zone
    assert isinstance(effective, date)
    moment = sitetime.site_datetime(effective, time(DATE_ONLY_HOUR), zone)
    return moment, (
        f"effective date {effective.isoformat()} has no time: taken as the site calendar day, "
        f"at {DATE_ONLY_HOUR}:00 {zone}"
    )


def _members(parsed: ParsedObservation, context: Context) -> ParsedObservation:
    if not parsed.members:
        return parsed
    found = []
    for reference in parsed.members:
        resource = resolve(reference, context.index, parsed.contained)
        if resource is None:
            raise problem(
                f"member {reference} of panel {parsed.observation_id} is neither in this Bundle "
                "nor contained; send the panel with its member Observations in one Bundle"
            )
        try:
            found.append(observations.parse(resource))
        except InvalidInput as error:
            raise problem(f"member {reference}: {error.detail}") from None
    return observations.with_members(parsed, found)


def _facts(
    session: Session, subject_id: str, who: observations.GivenPerson, performed_at: datetime
) -> PersonFacts:
    """The Observation's sex, age and height completed and checked with screening's."""
    try:
        return subjects.person_facts(
            session,
            subject_id,
            sex=who.sex,
            age_years=who.age_years,
            height_cm=who.height_cm,
            performed_at=performed_at,
        )
    except FactDisagreement as error:
        name = f"{_NAME_OF[error.field]} (LOINC {_LOINC_OF[error.field]})"
        raise problem(f"{name}: {error}") from None


def _derive(
    session: Session, parsed: ParsedObservation, subject_id: str, performed_at: datetime
) -> Derived:
    kind = observations.kind_of(parsed)
    if kind == "blood_gas":
        return derivation.blood_gas_sample(observations.blood_gas(parsed, performed_at))
    subject = subjects.require_known(session, subject_id)
    references = schedule_service.references_of(
        schedule_repository.trial_settings(session, subject.trial_id)
    )
    given = observations.person(parsed)
    facts = _facts(session, subject_id, given, performed_at)
    partly_given = any(v is not None for v in (given.sex, given.age_years, given.height_cm))
    if kind == "pft" and not (facts.missing and partly_given):
        return _pulmonary_function(parsed, performed_at, references, facts)
    # A walk needs all three; a PFT giving some of them was meant to be compared.
    if facts.missing:
        raise problem(
            f"{_missing(facts.missing)}: not in the Observation and not recorded at screening; "
            "the reference equations need them (LOINC codes in brackets)"
        )
    course = protocols.walk_course_length_m(
        session,
        subject.trial_id,
        subject.site_id,
        subjects.site_day(performed_at, subject.site_time_zone),
    )
    derived = derivation.walk_test(
        observations.walk_test(parsed, performed_at), references, facts, course
    )
    derived.inputs["assumed"] = {
        "course_length_m": f"the site's course, {course:g} m; FHIR carries no course length",
        "stops": "not reported in FHIR; recorded as 0",
    }
    return derived


_LOINC_OF = {
    "sex": observations.SEX_ASSIGNED_AT_BIRTH,
    "age_years": observations.AGE,
    "height_cm": observations.BODY_HEIGHT,
}
_NAME_OF = {"sex": "sex", "age_years": "age", "height_cm": "body height"}


def _missing(names: list[str]) -> str:
    """'sex (76689-9), age (30525-0) and body height (8302-2)'."""
    named = [f"{_NAME_OF[name]} ({_LOINC_OF[name]})" for name in names]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _pulmonary_function(
    parsed: ParsedObservation, performed_at: datetime, references: Any, facts: PersonFacts
) -> Derived:
    values = observations.spirometry_values(parsed)
    if values.empty:
        raise problem(
            f"the Observation (LOINC {parsed.code}) carries no FEV1, FVC, FEV1/FVC, DLCO or % "
            "predicted value with a unit"
        )
    litres = values.fev1_l is not None or values.fvc_l is not None or values.dlco is not None
    if not facts.missing and litres and values.fev1_fvc is None:
        who = observations.GivenPerson(facts.sex, facts.age_years, facts.height_cm)
        derived = derivation.pulmonary_function(
            observations.pulmonary_function(values, who, performed_at), references, facts
        )
    else:
        reason = (
            f"{_missing(facts.missing)}: not in the Observation and not recorded at "
            "screening, so no GLI reference comparison was made"
            if facts.missing
            else "the Observation carries ratios or % predicted only, which the GLI equations "
            "do not take; recorded as reported"
        )
        derived = derivation.pulmonary_function_measured(
            {
                "fev1_l": values.fev1_l,
                "fvc_l": values.fvc_l,
                "fev1_fvc": values.fev1_fvc,
                "dlco": values.dlco,
                "fev1_percent_predicted_reported": values.fev1_percent_predicted,
                "fvc_percent_predicted_reported": values.fvc_percent_predicted,
            },
            dlco_unit=values.dlco_unit,
            reason=reason,
        )
    derived.metrics["fev1_percent_predicted_reported"] = values.fev1_percent_predicted
    derived.metrics["fvc_percent_predicted_reported"] = values.fvc_percent_predicted
    if values.phases:
        derived.inputs["bronchodilator"] = values.phases
    return derived


def receive(
    session: Session,
    payload: Any,
    *,
    identifier_key: str,
    actor: str,
    sender: str = "",
    can_access_site: Callable[[str], bool] = lambda _site: True,
    full_url: str | None = None,
    index: dict[str, dict[str, Any]] | None = None,
) -> IntakeOutcome:
    context = Context(
        identifier_key=identifier_key,
        actor=actor,
        sender=sender,
        index=index or {},
        can_access_site=can_access_site,
    )
    parsed = observations.parse(payload, full_url=full_url)
    # Two deliveries of one Observation (a first one included) are handled one after the other.
    repository.lock_fhir_observation(session, sender, parsed.observation_id)
    existing = repository.by_fhir_observation(session, sender, parsed.observation_id)
    if existing is not None:
        _require_visible(session, existing.subject_id, context)
        return _known(session, existing, parsed, context)
    if parsed.status not in observations.RECORDED_STATUSES:
        raise problem(
            f"Observation status {parsed.status!r} is not recorded; only final, amended and "
            "corrected results are"
        )
    observations.kind_of(parsed)
    subject_id = _subject_id(session, parsed, context)
    row = assessments.record(
        session,
        subject_id=subject_id,
        source="fhir",
        actor=actor,
        fhir_sender=sender,
        fhir_observation_id=parsed.observation_id,
        fhir_version_id=parsed.version_id,
        **_assessment(session, parsed, subject_id, context),
    )
    return IntakeOutcome(row, created=True, action="recorded")


def _assessment(
    session: Session, parsed: ParsedObservation, subject_id: str, context: Context
) -> dict[str, Any]:
    """performed_at and the derived outcome, with the FHIR facts that led to them."""
    parsed = _members(parsed, context)
    performed_at, placed = _performed_at(session, parsed, subject_id)
    derived = _derive(session, parsed, subject_id, performed_at)
    derived.inputs["fhir"] = {
        "id": parsed.observation_id,
        "version_id": parsed.version_id,
        "notes": [*parsed.notes, *([placed] if placed else [])],
    }
    return {"performed_at": performed_at, "derived": derived}


def _known(
    session: Session, row: AssessmentRow, parsed: ParsedObservation, context: Context
) -> IntakeOutcome:
    if parsed.version_id == row.fhir_version_id:
        return IntakeOutcome(row, created=False, action="replayed")
    if row.fhir_version_id is not None and is_older(parsed.version_id, row.fhir_version_id):
        return IntakeOutcome(row, created=False, action="older-version-ignored")
    subject_id = _subject_id(session, parsed, context)
    if subject_id != row.subject_id:
        raise Conflict(
            f"Observation {parsed.observation_id} was recorded for another subject; a new "
            "version cannot move it to a different subject"
        )
    reason = (
        f"FHIR Observation {parsed.observation_id} version {parsed.version_id} ({parsed.status})"
    )
    if parsed.status == "entered-in-error":
        if row.status == "voided":
            return IntakeOutcome(row, created=False, action="voided")
        row.fhir_version_id = parsed.version_id
        assessments.void(session, row, reason=reason, actor=context.actor)
        return IntakeOutcome(row, created=False, action="voided")
    if parsed.status not in CORRECTION_STATUSES:
        raise Conflict(
            f"Observation {parsed.observation_id} was recorded as version {row.fhir_version_id}; "
            f"a different version must be amended, corrected or entered-in-error, not "
            f"{parsed.status!r}",
            problem=OBSERVATION_VERSION_CONFLICT,
        )
    assessments.supersede(
        session,
        row,
        actor=context.actor,
        fhir_version_id=parsed.version_id,
        reason=reason,
        **_assessment(session, parsed, row.subject_id, context),
    )
    return IntakeOutcome(row, created=False, action="corrected")


def receive_bundle(
    session: Session,
    bundle: dict[str, Any],
    *,
    identifier_key: str,
    actor: str,
    sender: str,
    can_access_site: Callable[[str], bool] = lambda _site: True,
) -> dict[str, Any]:
    """A batch-response or transaction-response Bundle: one entry per entry, in order."""
    plan = bundles.plan(bundle)
    answered = []
    for item in plan.items:
        if item.action != "outcome":
            answered.append(
                response_entry(200, operation_outcome("information", "informational", item.reason))
            )
            continue
        try:
            with session.begin_nested():
                outcome = receive(
                    session,
                    item.entry.resource,
                    identifier_key=identifier_key,
                    actor=actor,
                    sender=sender,
                    can_access_site=can_access_site,
                    full_url=item.entry.full_url,
                    index=plan.index,
                )
        except DoselineError as error:
            answered.append(response_entry(error.status, of_error(error)))
            continue
        row = outcome.assessment
        answered.append(
            response_entry(
                201 if outcome.created else 200,
                operation_outcome(
                    "information",
                    "informational",
                    f"{outcome.action}: {row.kind} assessment {row.id} of subject "
                    f"{row.subject_id}, visit {row.visit or 'pending'}",
                ),
                location=f"/v1/assessments/{row.id}",
            )
        )
    return {"resourceType": "Bundle", "type": plan.response_type, "entry": answered}
