"""FHIR Observation intake: match the subject, derive the outcome, record once per version.

Observation id + meta.versionId identify a delivery. The same id and version again returns the
assessment already recorded (a retried delivery). A new version of a known id with status
amended or corrected replaces the values (audited as a correction); entered-in-error voids the
assessment. A version older than the one recorded (numeric versionIds compared as numbers)
changes nothing. Only final, amended and corrected results are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from doseline.errors import Conflict, InvalidInput
from doseline.identity import hospital_id_hash
from imaging.assessments import derivation, repository
from imaging.assessments import service as assessments
from imaging.assessments.derivation import Derived
from imaging.assessments.models import AssessmentRow
from imaging.fhir import observations
from imaging.fhir.observations import STUDY_SUBJECT_SYSTEM, ParsedObservation
from imaging.schedule import repository as schedule_repository
from imaging.schedule import service as schedule_service
from imaging.subjects import repository as subjects_repository
from imaging.subjects import service as subjects

CORRECTION_STATUSES = frozenset({"amended", "corrected"})


@dataclass(frozen=True)
class IntakeOutcome:
    assessment: AssessmentRow
    created: bool
    action: str
    """recorded, replayed, corrected, voided or older-version-ignored"""


def _subject_id(session: Session, parsed: ParsedObservation, *, identifier_key: str) -> str:
    if parsed.subject_system == STUDY_SUBJECT_SYSTEM:
        return parsed.subject_value
    subject = subjects_repository.subject_by_hospital_hash(
        session,
        hospital_id_hash(identifier_key, system=parsed.subject_system, value=parsed.subject_value),
    )
    if subject is None:
        raise Conflict(
            "no enrolled subject known to imaging has this identifier (system "
            f"{parsed.subject_system!r}); check it, or resend after the enrolment has arrived",
            slug="subject-not-known-yet",
            title="Subject not known to imaging yet",
        )
    return subject.subject_id


def _derive(session: Session, parsed: ParsedObservation, subject_id: str) -> Derived:
    kind = observations.kind_of(parsed)
    if kind == "blood_gas":
        return derivation.blood_gas_sample(observations.blood_gas(parsed))
    subject = subjects.require_known(session, subject_id)
    references = schedule_service.references_of(
        schedule_repository.trial_settings(session, subject.trial_id)
    )
    if kind == "pft":
        return derivation.pulmonary_function(observations.pulmonary_function(parsed), references)
    derived = derivation.walk_test(observations.walk_test(parsed), references)
    derived.inputs["assumed"] = {
        "course_length_m": "standard 30 m course; FHIR carries no course length",
        "stops": "not reported in FHIR; recorded as 0",
    }
    return derived


def _newer(offered: str, recorded: str | None) -> bool:
    if recorded is None:
        return True
    if offered.isdigit() and recorded.isdigit():
        return int(offered) > int(recorded)
    return offered != recorded


def receive(session: Session, payload: Any, *, identifier_key: str, actor: str) -> IntakeOutcome:
    parsed = observations.parse(payload)
    # Two deliveries of one Observation (a first one included) are handled one after the other.
    repository.lock_fhir_observation(session, parsed.observation_id)
    existing = repository.by_fhir_observation(session, parsed.observation_id)
    if existing is not None:
        return _known(session, existing, parsed, actor=actor, identifier_key=identifier_key)
    if parsed.status not in observations.RECORDED_STATUSES:
        raise InvalidInput(
            f"Observation status {parsed.status!r} is not recorded; only final, amended and "
            "corrected results are",
            slug="unusable-observation",
            title="Unusable FHIR Observation",
        )
    subject_id = _subject_id(session, parsed, identifier_key=identifier_key)
    derived = _derive(session, parsed, subject_id)
    derived.inputs["fhir"] = {"id": parsed.observation_id, "version_id": parsed.version_id}
    row = assessments.record(
        session,
        subject_id=subject_id,
        performed_at=parsed.effective,
        derived=derived,
        source="fhir",
        actor=actor,
        fhir_observation_id=parsed.observation_id,
        fhir_version_id=parsed.version_id,
    )
    return IntakeOutcome(row, created=True, action="recorded")


def _known(
    session: Session,
    row: AssessmentRow,
    parsed: ParsedObservation,
    *,
    actor: str,
    identifier_key: str,
) -> IntakeOutcome:
    if parsed.version_id == row.fhir_version_id:
        return IntakeOutcome(row, created=False, action="replayed")
    if not _newer(parsed.version_id, row.fhir_version_id):
        return IntakeOutcome(row, created=False, action="older-version-ignored")
    subject_id = _subject_id(session, parsed, identifier_key=identifier_key)
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
        assessments.void(session, row, reason=reason, actor=actor)
        return IntakeOutcome(row, created=False, action="voided")
    if parsed.status not in CORRECTION_STATUSES:
        raise InvalidInput(
            f"a new version of a recorded Observation must be amended, corrected or "
            f"entered-in-error, not {parsed.status!r}",
            slug="unusable-observation",
            title="Unusable FHIR Observation",
        )
    derived = _derive(session, parsed, row.subject_id)
    derived.inputs["fhir"] = {"id": parsed.observation_id, "version_id": parsed.version_id}
    assessments.supersede(
        session,
        row,
        performed_at=parsed.effective,
        derived=derived,
        actor=actor,
        fhir_version_id=parsed.version_id,
        reason=reason,
    )
    return IntakeOutcome(row, created=False, action="corrected")
