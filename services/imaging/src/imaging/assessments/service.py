"""Recording, voiding and visit assignment of outcome assessments; their events and audit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from doseline import audit, outbox, pagination
from doseline.contracts.imaging import CtMeasured, OutcomeRecorded
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.etags import check_if_match
from imaging.assessments import derivation, repository
from imaging.assessments.derivation import Derived
from imaging.assessments.models import AssessmentRow
from imaging.assessments.schemas import (
    AssessmentOut,
    BloodGasIn,
    CtMeasurementIn,
    PulmonaryFunctionIn,
    SgrqIn,
    WalkTestIn,
)
from imaging.problems import SUBJECT_FACT_DISAGREES
from imaging.protocols import service as protocols
from imaging.schedule import service as schedule_service
from imaging.schedule.visits import VisitAssignment, VisitSchedule, assign_visit
from imaging.subjects import repository as subjects_repository
from imaging.subjects import service as subjects
from imaging.subjects.facts import FactDisagreement, PersonFacts
from imaging.subjects.models import SubjectRow

Measurement = CtMeasurementIn | PulmonaryFunctionIn | WalkTestIn | BloodGasIn | SgrqIn

# Clocks of hospital systems drift; an assessment a few minutes "in the future" is accepted.
_CLOCK_SKEW = timedelta(minutes=5)
# No assessment of a trial run with this software predates it; earlier dates are typing errors.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def snapshot(row: AssessmentRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "subject_id": row.subject_id,
        "performed_at": row.performed_at,
        "performed_on": row.performed_on,
        "visit": row.visit,
        "out_of_window": row.out_of_window,
        "inputs": row.inputs,
        "metrics": row.metrics,
        "source": row.source,
        "fhir_observation_id": row.fhir_observation_id,
        "fhir_version_id": row.fhir_version_id,
        "status": row.status,
        "void_reason": row.void_reason,
    }


def _assignment(
    subject: SubjectRow, row: AssessmentRow, schedule: VisitSchedule | None
) -> VisitAssignment:
    return assign_visit(
        performed_on=row.performed_on,
        performed_at=row.performed_at,
        first_infusion_on=subject.first_infusion_on,
        first_infusion_at=subject.first_infusion_at,
        last_infusion_on=subjects.last_infusion_on(subject),
        schedule=schedule,
    )


def _apply(row: AssessmentRow, assignment: VisitAssignment) -> bool:
    """Store the assignment on the row; True when it changed."""
    values = {
        "visit": assignment.visit,
        "visit_target_on": assignment.target_on,
        "days_from_target": assignment.days_from_target,
        "out_of_window": assignment.out_of_window,
        "pending_reason": assignment.pending_reason,
    }
    changed = any(getattr(row, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(row, name, value)
    return changed


def _announce(session: Session, row: AssessmentRow) -> None:
    subject_ref = f"subjects/{row.subject_id}"
    site_id = subjects_repository.site_of_subject(session, row.subject_id)
    assert site_id is not None, row.subject_id  # assessments exist only for known subjects
    outbox.record_event(
        session,
        OutcomeRecorded(
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            site_id=site_id,
            assessment_id=str(row.id),
            kind=row.kind,
            performed_on=row.performed_on,
            visit=row.visit,
            out_of_window=row.out_of_window,
            status=row.status,
            recorded_at=row.recorded_at,
        ),
        subject=subject_ref,
    )
    if row.kind == "ct" and row.status == "recorded":
        outbox.record_event(
            session,
            CtMeasured(
                trial_id=row.trial_id,
                subject_id=row.subject_id,
                site_id=site_id,
                assessment_id=str(row.id),
                performed_on=row.performed_on,
                visit=row.visit,
                source=row.results["source"],
                lung_ml=float(row.metrics["lung_ml"] or 0.0),
                lesion_ml=float(row.metrics["lesion_ml"] or 0.0),
                lesion_fraction=float(row.metrics["lesion_fraction"] or 0.0),
            ),
            subject=subject_ref,
        )


def _changed(
    session: Session,
    row: AssessmentRow,
    verb: str,
    *,
    actor: str,
    before: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Write a recorded, corrected or voided assessment, its audit entry and its events."""
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"assessment.{row.kind}.{verb}",
        entity_type="assessment",
        entity_id=str(row.id),
        before=before,
        after=snapshot(row),
        reason=reason,
    )
    _announce(session, row)


def check_performed_at(performed_at: datetime, *, now: datetime | None = None) -> None:
    moment = now or datetime.now(UTC)
    if performed_at < _EARLIEST:
        raise InvalidInput.at(
            ["body", "performed_at"], "lies before 1990; give the time the assessment was done"
        )
    if performed_at > moment + _CLOCK_SKEW:
        raise InvalidInput.at(
            ["body", "performed_at"], "lies in the future; give the time the assessment was done"
        )


def record(
    session: Session,
    *,
    subject_id: str,
    performed_at: datetime,
    derived: Derived,
    source: str,
    actor: str,
    fhir_sender: str | None = None,
    fhir_observation_id: str | None = None,
    fhir_version_id: str | None = None,
) -> AssessmentRow:
    """Store one assessment with its visit (or pending), audit it and announce it."""
    check_performed_at(performed_at)
    # The subject's row lock orders this write with infusion events that reassign visits.
    subject = subjects.require_known(session, subject_id, lock=True)
    row = AssessmentRow(
        id=uuid.uuid4(),
        trial_id=subject.trial_id,
        subject_id=subject.subject_id,
        kind=derived.kind,
        performed_at=performed_at,
        performed_on=subjects.site_day(performed_at, subject.site_time_zone),
        inputs=derived.inputs,
        results=derived.results,
        metrics=derived.metrics,
        source=source,
        fhir_sender=fhir_sender,
        fhir_observation_id=fhir_observation_id,
        fhir_version_id=fhir_version_id,
        status="recorded",
        recorded_by=actor,
        recorded_at=datetime.now(UTC),
    )
    schedule = schedule_service.schedule_for(session, subject.trial_id, row.performed_on)
    _apply(row, _assignment(subject, row, schedule))
    session.add(row)
    _changed(session, row, "record", actor=actor)
    return row


def supersede(
    session: Session,
    row: AssessmentRow,
    *,
    performed_at: datetime,
    derived: Derived,
    actor: str,
    reason: str,
    fhir_version_id: str | None = None,
) -> AssessmentRow:
    """Replace the values of an assessment (a correction, or a newer version of its FHIR
    source); the earlier values stay in the audit trail."""
    check_performed_at(performed_at)
    if derived.kind != row.kind:
        raise Conflict(
            f"this record was a {row.kind} assessment and cannot become a {derived.kind} one"
        )
    subject = subjects.require_known(session, row.subject_id, lock=True)
    before = snapshot(row)
    row.performed_at = performed_at
    row.performed_on = subjects.site_day(performed_at, subject.site_time_zone)
    row.inputs = derived.inputs
    row.results = derived.results
    row.metrics = derived.metrics
    if fhir_version_id is not None:
        row.fhir_version_id = fhir_version_id
    row.status = "recorded"
    row.void_reason = None
    row.recorded_at = datetime.now(UTC)
    schedule = schedule_service.schedule_for(session, row.trial_id, row.performed_on)
    _apply(row, _assignment(subject, row, schedule))
    _changed(session, row, "correct", actor=actor, before=before, reason=reason)
    return row


def require(session: Session, assessment_id: uuid.UUID, *, lock: bool = False) -> AssessmentRow:
    row = repository.assessment(session, assessment_id, lock=lock)
    if row is None:
        raise NotFound(f"no assessment {assessment_id}")
    return row


PERFORMED_ORDER = pagination.Keyset(performed_at=datetime, id=uuid.UUID)


def page_of_subject(
    session: Session, subject_id: str, *, kind: str | None, cursor: str | None, limit: int
) -> pagination.Page[AssessmentOut]:
    """A subject's assessments in the order they were done, `limit` after the cursor."""
    subjects.require_known(session, subject_id, reading=True)
    rows = repository.of_subject(
        session, subject_id, kind=kind, after=PERFORMED_ORDER.read(cursor), limit=limit + 1
    )
    page = PERFORMED_ORDER.page(rows, limit=limit, key=lambda row: (row.performed_at, row.id))
    return page.shown_as(AssessmentOut.of)


def void(session: Session, row: AssessmentRow, *, reason: str, actor: str) -> AssessmentRow:
    """Void, never delete (ARCHITECTURE.md): the record stays, out of every statistic."""
    if row.status == "voided":
        raise Conflict("this assessment is already voided")
    before = snapshot(row)
    row.status = "voided"
    row.void_reason = reason
    _changed(session, row, "void", actor=actor, before=before, reason=reason)
    return row


def reassign_trial(session: Session, trial_id: str, *, actor: str) -> None:
    """Place every assessment of the trial by its current schedule (after a schedule change)."""
    # Locked: an assessment being recorded meanwhile is placed by the schedule it commits after.
    for subject in subjects_repository.subjects_of_trial(session, trial_id, lock=True):
        reassign_visits(session, subject, actor=actor)


def reassign_visits(session: Session, subject: SubjectRow, *, actor: str) -> int:
    """Recompute the visit of every assessment of the subject (after an infusion event or a
    schedule change); returns how many changed. Each change is audited."""
    changed = 0
    for row in repository.of_subject(session, subject.subject_id, lock=True):
        # The protocol version in force on the day of the assessment places it.
        schedule = schedule_service.schedule_for(session, subject.trial_id, row.performed_on)
        before = snapshot(row)
        if _apply(row, _assignment(subject, row, schedule)):
            changed += 1
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="assessment.visit_assigned",
                entity_type="assessment",
                entity_id=str(row.id),
                before=before,
                after=snapshot(row),
                reason="visit recomputed from the subject's infusions and the visit schedule",
            )
    return changed


# ---------------------------------------------------------------------------- manual entry


def record_manual(
    session: Session, subject_id: str, body: Measurement, *, actor: str
) -> AssessmentRow:
    """An assessment typed in by a person: its results derived, then recorded."""
    return record(
        session,
        subject_id=subject_id,
        performed_at=body.performed_at,
        derived=derive(session, subject_id, body),
        source="manual",
        actor=actor,
    )


def derive(
    session: Session, subject_id: str, body: Measurement, location: Sequence[str] = ("body",)
) -> Derived:
    """The results of one measurement; `location` is where a 422 points in the request."""
    if isinstance(body, CtMeasurementIn):
        return derivation.ct_measurement(body)
    if isinstance(body, PulmonaryFunctionIn):
        facts = _person(session, subject_id, body, location)
        return derivation.pulmonary_function(body, _references(session, subject_id), facts)
    if isinstance(body, WalkTestIn):
        facts = _person(session, subject_id, body, location)
        subject = subjects.require_known(session, subject_id)
        course = protocols.walk_course_length_m(
            session,
            subject.trial_id,
            subject.site_id,
            subjects.site_day(body.performed_at, subject.site_time_zone),
        )
        return derivation.walk_test(body, _references(session, subject_id), facts, course)
    if isinstance(body, BloodGasIn):
        return derivation.blood_gas_sample(body)
    return derivation.sgrq_questionnaire(body)


def _references(session: Session, subject_id: str) -> schedule_service.ReferenceChoice:
    subject = subjects.require_known(session, subject_id)
    return schedule_service.references_for(session, subject.trial_id)


def _person(
    session: Session,
    subject_id: str,
    body: PulmonaryFunctionIn | WalkTestIn,
    location: Sequence[str],
) -> PersonFacts:
    """The body's sex, age and height completed and checked with those recorded at screening."""
    try:
        return subjects.person_facts(
            session,
            subject_id,
            sex=body.sex,
            age_years=body.age_years,
            height_cm=body.height_cm,
            performed_at=body.performed_at,
        )
    except FactDisagreement as error:
        raise InvalidInput.at(
            [*location, error.field],
            str(error),
            problem=SUBJECT_FACT_DISAGREES,
        ) from None


_MEASUREMENTS: dict[str, type[Measurement]] = {
    "ct": CtMeasurementIn,
    "pft": PulmonaryFunctionIn,
    "walk": WalkTestIn,
    "blood_gas": BloodGasIn,
    "sgrq": SgrqIn,
}


def correct(
    session: Session,
    assessment_id: uuid.UUID,
    values: dict[str, Any],
    *,
    if_match: str | None,
    reason: str,
    actor: str,
) -> AssessmentRow:
    """New values for a manually recorded assessment; results and visit are derived again."""
    row = require(session, assessment_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    if row.source != "manual":
        raise Conflict(
            f"this assessment came from {row.source!r}; correct it at its source "
            "(upload the corrected segmentation, or send a new Observation version)"
        )
    if row.status == "voided":
        raise Conflict("this assessment is voided; record a new one instead")
    model = _MEASUREMENTS.get(row.kind)
    if model is None:
        raise InvalidInput.at(["body", "values"], f"no correction for {row.kind} assessments")
    try:
        body = model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at(
            ["body", "values", *(str(part) for part in first["loc"])], first["msg"]
        ) from None
    return supersede(
        session,
        row,
        performed_at=body.performed_at,
        derived=derive(session, row.subject_id, body, ("body", "values")),
        actor=actor,
        reason=reason,
    )
