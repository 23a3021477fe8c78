"""Eligibility: a subject's screening answers against the protocol's criteria, with reasons.

Every criterion must be answered. A missing or unusable answer or piece of evidence makes the
screening *incomplete* (fix the record), never *ineligible*; only an answer that fails a
criterion makes the subject ineligible. Each failed or missing criterion gives one finding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from enrollment.protocol.config import (
    AnswerType,
    Criterion,
    DateEvidence,
    EligibilityCriteria,
    GradeEvidence,
)

# CTCAE v5.0: grades run from 1 (mild) to 5 (death related to the AE); anything else is no grade.
CTCAE_GRADES = range(1, 6)


@dataclass(frozen=True)
class Answer:
    """The answer to one criterion: yes/no (``bool``) or a number, with optional evidence."""

    value: bool | int | Decimal
    evidence_date: date | None = None
    evidence_grade: int | None = None


class Eligibility(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"


class FindingKind(StrEnum):
    """Why a criterion did not pass. The first three make a subject ineligible."""

    NOT_MET = "not-met"
    EXCLUDED = "excluded"
    EVIDENCE_TOO_OLD = "evidence-too-old"
    MISSING_ANSWER = "missing-answer"
    INVALID_ANSWER = "invalid-answer"
    MISSING_EVIDENCE = "missing-evidence"
    INVALID_EVIDENCE = "invalid-evidence"

    @property
    def disqualifies(self) -> bool:
        return self in _DISQUALIFYING


_DISQUALIFYING = frozenset(
    {FindingKind.NOT_MET, FindingKind.EXCLUDED, FindingKind.EVIDENCE_TOO_OLD}
)


@dataclass(frozen=True)
class Finding:
    criterion_id: str
    kind: FindingKind
    reason: str


@dataclass(frozen=True)
class EligibilityResult:
    """Ineligible if any finding disqualifies; else incomplete if any remains; else eligible."""

    status: Eligibility
    findings: tuple[Finding, ...]

    @property
    def eligible(self) -> bool:
        return self.status is Eligibility.ELIGIBLE


class UnknownCriterionError(ValueError):
    """Answers were given for criteria the protocol does not have."""


def assess_eligibility(
    criteria: EligibilityCriteria, answers: Mapping[str, Answer], *, screened_on: date
) -> EligibilityResult:
    """Check every criterion against ``answers`` (keyed by criterion id) on ``screened_on``."""
    known = {criterion.id for criterion in criteria.all}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise UnknownCriterionError(
            f"answers given for criteria this protocol does not have: {', '.join(unknown)}"
            f" (its criteria are {', '.join(c.id for c in criteria.all)})"
        )
    findings: list[Finding] = []
    for criterion in criteria.inclusion:
        finding = _check(criterion, answers.get(criterion.id), screened_on, inclusion=True)
        if finding is not None:
            findings.append(finding)
    for criterion in criteria.exclusion:
        finding = _check(criterion, answers.get(criterion.id), screened_on, inclusion=False)
        if finding is not None:
            findings.append(finding)
    if any(finding.kind.disqualifies for finding in findings):
        status = Eligibility.INELIGIBLE
    elif findings:
        status = Eligibility.INCOMPLETE
    else:
        status = Eligibility.ELIGIBLE
    return EligibilityResult(status=status, findings=tuple(findings))


def _check(
    criterion: Criterion, answer: Answer | None, screened_on: date, *, inclusion: bool
) -> Finding | None:
    def finding(kind: FindingKind, reason: str) -> Finding:
        return Finding(criterion.id, kind, f"{criterion.id} ({criterion.text}): {reason}")

    if answer is None:
        return finding(FindingKind.MISSING_ANSWER, "not answered")
    present = _answer_holds(criterion, answer.value)
    if present is None:
        expected = "yes or no" if criterion.answer is AnswerType.YES_NO else "a number"
        return finding(
            FindingKind.INVALID_ANSWER, f"the answer must be {expected}, not {answer.value!r}"
        )
    if inclusion and not present:
        return finding(FindingKind.NOT_MET, _failure(criterion, answer.value, inclusion=True))
    if not inclusion and present:
        return finding(FindingKind.EXCLUDED, _failure(criterion, answer.value, inclusion=False))
    # Evidence backs the answer the subject's eligibility rests on, so it is asked for only
    # when the criterion passes; a failed criterion needs none.
    if isinstance(criterion.evidence, DateEvidence):
        return _check_date(criterion.evidence, answer.evidence_date, screened_on, finding)
    if isinstance(criterion.evidence, GradeEvidence):
        return _check_grade(criterion.evidence, answer.evidence_grade, finding)
    return None


def _answer_holds(criterion: Criterion, value: object) -> bool | None:
    """Whether the criterion's condition is present; ``None`` when the answer is unusable."""
    if criterion.answer is AnswerType.YES_NO:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    number = Decimal(value)
    if not number.is_finite():
        return None
    if criterion.minimum is not None and number < criterion.minimum:
        return False
    return not (criterion.maximum is not None and number > criterion.maximum)


def _failure(criterion: Criterion, value: bool | int | Decimal, *, inclusion: bool) -> str:
    if criterion.answer is AnswerType.YES_NO:
        return "answered no; required" if inclusion else "answered yes; excludes the subject"
    unit = f" {criterion.unit}" if criterion.unit else ""
    bounds = " and ".join(
        part
        for part in (
            f"at least {criterion.minimum}{unit}" if criterion.minimum is not None else "",
            f"at most {criterion.maximum}{unit}" if criterion.maximum is not None else "",
        )
        if part
    )
    if inclusion:
        return f"{value}{unit} is outside the required range ({bounds})"
    return f"{value}{unit} is in the excluded range ({bounds})"


def _check_date(
    evidence: DateEvidence,
    value: date | None,
    screened_on: date,
    finding: Callable[[FindingKind, str], Finding],
) -> Finding | None:
    if value is None:
        return finding(FindingKind.MISSING_EVIDENCE, f"the {evidence.label} is required")
    if isinstance(value, datetime) or not isinstance(value, date):
        return finding(
            FindingKind.INVALID_EVIDENCE,
            f"the {evidence.label} must be a calendar date, not {value!r}",
        )
    if value > screened_on:
        return finding(
            FindingKind.INVALID_EVIDENCE,
            f"the {evidence.label} {value.isoformat()} is after the screening date"
            f" {screened_on.isoformat()}",
        )
    age = (screened_on - value).days
    if evidence.max_age_days is not None and age > evidence.max_age_days:
        return finding(
            FindingKind.EVIDENCE_TOO_OLD,
            f"the {evidence.label} {value.isoformat()} is {age} days before screening; at most"
            f" {evidence.max_age_days} days are allowed",
        )
    return None


def _check_grade(
    evidence: GradeEvidence, value: int | None, finding: Callable[[FindingKind, str], Finding]
) -> Finding | None:
    if value is None:
        return finding(FindingKind.MISSING_EVIDENCE, f"the {evidence.label} is required")
    if isinstance(value, bool) or not isinstance(value, int) or value not in CTCAE_GRADES:
        return finding(
            FindingKind.INVALID_EVIDENCE,
            f"the {evidence.label} must be a CTCAE grade from 1 to 5, not {value!r}",
        )
    if not evidence.minimum <= value <= evidence.maximum:
        return finding(
            FindingKind.NOT_MET,
            f"{evidence.term} grade {value} is outside the grades this criterion accepts"
            f" ({evidence.minimum} to {evidence.maximum})",
        )
    return None
