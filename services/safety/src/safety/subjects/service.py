"""Subjects from enrollment's events (in any order) and their baseline conditions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, subject_projection
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.etags import check_if_match
from safety.catalogue import service as catalogue
from safety.grading.validation import require_defined_grade
from safety.problems import SUBJECT_NOT_FOUND, SUBJECT_UNKNOWN_TO_SAFETY
from safety.subjects import repository
from safety.subjects.models import SubjectHospitalIdRow, SubjectRow
from safety.subjects.schemas import BaselineIn


@dataclass(frozen=True)
class BaselineCondition:
    """A condition present before the first infusion: a CTCAE term and its grade."""

    ctcae_version: str
    term_code: str
    term: str
    grade: int


def record_enrolment(session: Session, event: SubjectEnrolled) -> SubjectRow:
    return subject_projection.record_enrolment(session, SubjectRow, SubjectHospitalIdRow, event)


def record_infusion(session: Session, event: InfusionAdministered) -> tuple[SubjectRow, bool]:
    """Store the subject's day 1 and DLT window; True if the window is new or changed.

    An older infusion arriving after a newer one changes nothing: the newest infusion's
    window wins, whatever the order of arrival.
    """
    return subject_projection.record_infusion(session, SubjectRow, event)


def require_known_subject(session: Session, subject_id: str, *, lock: bool = False) -> SubjectRow:
    """The subject, or 409 when enrollment's event has not reached safety (yet)."""
    row = (
        repository.subject_for_update(session, subject_id)
        if lock
        else repository.subject(session, subject_id)
    )
    if row is None or row.enrolled_at is None:
        raise Conflict(
            f"subject {subject_id} is unknown to safety: check the study id; if it is right, "
            "enrollment's 'subject enrolled' event has not been received yet, retry shortly",
            problem=SUBJECT_UNKNOWN_TO_SAFETY,
            extra={"subject_id": subject_id},
        )
    return row


def require_subject(session: Session, subject_id: str) -> SubjectRow:
    row = repository.subject(session, subject_id)
    if row is None:
        raise NotFound(f"subject {subject_id} is unknown to safety", problem=SUBJECT_NOT_FOUND)
    return row


def record_baseline(
    session: Session, subject_id: str, body: BaselineIn, *, if_match: str | None, actor: str
) -> SubjectRow:
    """Record the subject's baseline (a change needs a reason); the caller re-applies the DLT
    rules, since worsening is measured from the baseline."""
    row = require_known_subject(session, subject_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    already = row.baseline_pneumonitis_grade is not None or bool(row.baseline_conditions)
    if already and body.reason is None:
        raise InvalidInput.at(
            ["body", "reason"], "the baseline was already recorded; give the reason for change"
        )
    conditions: list[BaselineCondition] = []
    seen: set[str] = set()
    for index, condition in enumerate(body.conditions):
        term = catalogue.require_term(session, condition.ctcae_version, condition.term_code)
        if condition.term_code in seen:
            raise InvalidInput.at(
                ["body", "conditions", index, "term_code"], "this term is listed twice"
            )
        seen.add(condition.term_code)
        require_defined_grade(
            catalogue.as_term(term), condition.grade, ctcae_version=condition.ctcae_version
        )
        conditions.append(
            BaselineCondition(
                condition.ctcae_version, condition.term_code, term.name, condition.grade
            )
        )
    return set_baseline(
        session,
        row,
        pneumonitis_grade=body.pneumonitis_grade,
        oxygen_use=body.oxygen_use,
        conditions=conditions,
        actor=actor,
        reason=body.reason,
    )


def set_baseline(
    session: Session,
    row: SubjectRow,
    *,
    pneumonitis_grade: int | None,
    oxygen_use: bool | None,
    conditions: list[BaselineCondition],
    actor: str,
    reason: str | None,
) -> SubjectRow:
    before = snapshot(row)
    row.baseline_pneumonitis_grade = pneumonitis_grade
    row.baseline_oxygen_use = oxygen_use
    row.baseline_conditions = [
        {
            "ctcae_version": c.ctcae_version,
            "term_code": c.term_code,
            "term": c.term,
            "grade": c.grade,
        }
        for c in conditions
    ]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="subject.baseline_set",
        entity_type="subject",
        entity_id=row.subject_id,
        before=before,
        after=snapshot(row),
        reason=reason,
    )
    return row


# The subject record keeps the baseline grade of the disease under study in its own field
# (`baseline_pneumonitis_grade`); this is its CTCAE v5.0 MedDRA code.
PNEUMONITIS_CODE = "10035742"


def baseline_grade_of(row: SubjectRow, term_code: str, *, pneumonitis_code: str) -> int | None:
    """The subject's baseline grade of a term (0 = absent at baseline; None = not recorded)."""
    if term_code == pneumonitis_code and row.baseline_pneumonitis_grade is not None:
        return row.baseline_pneumonitis_grade
    for condition in row.baseline_conditions:
        if condition.get("term_code") == term_code:
            return int(condition["grade"])
    if row.baseline_pneumonitis_grade is None and not row.baseline_conditions:
        return None
    return 0


def snapshot(row: SubjectRow) -> dict[str, Any]:
    return {
        "subject_id": row.subject_id,
        **subject_projection.snapshot(row),
        "baseline_pneumonitis_grade": row.baseline_pneumonitis_grade,
        "baseline_oxygen_use": row.baseline_oxygen_use,
        "baseline_conditions": list(row.baseline_conditions or []),
    }
