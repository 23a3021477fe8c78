"""The bridge between stored rows and the pure DLT rules (`safety.dlt.rules`).

Rule sets are stored as JSON (`DltRules` dumped with sorted lists, so equal rules are equal
text). The subject's DLT window comes from enrollment's infusion event: enrollment owns the
window, so its length overrides the rule set's default `window_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from pydantic import ValidationError

from doseline.errors import InvalidInput
from safety.dictionary.terms import CtcaeTerm
from safety.dlt.rules import (
    DEFAULT_RULES,
    PNEUMONITIS,
    AdverseEventFacts,
    Attribution,
    DltInputError,
    DltRules,
    assess_dlt,
)
from safety.subjects.models import SubjectRow
from safety.subjects.service import baseline_grade_of

CTCAE_VERSION: Final = "5.0"


@dataclass(frozen=True)
class Verdict:
    is_suspected_dlt: bool
    study_day: int | None
    matched_rules: tuple[str, ...]
    reasons: tuple[str, ...]
    baseline_grade: int | None


def _as_json(rules: DltRules) -> dict[str, Any]:
    dumped = rules.model_dump(mode="json")
    return {
        key: sorted(value) if isinstance(value, list) else value for key, value in dumped.items()
    }


def default_rules() -> dict[str, Any]:
    """PROTOCOL.md's DLT definition, as stored JSON."""
    return _as_json(DEFAULT_RULES)


def normalise_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Validate a rule configuration (missing keys take the protocol defaults); 422 if invalid."""
    try:
        parsed = DltRules.model_validate(rules)
    except ValidationError as error:
        errors = [
            {"loc": ["body", "rules", *[str(p) for p in item["loc"]]], "msg": item["msg"]}
            for item in error.errors()
        ]
        raise InvalidInput(
            "the DLT rules are not valid: "
            + "; ".join(f"{'.'.join(e['loc'][2:])}: {e['msg']}" for e in errors),
            extra={"errors": errors},
        ) from None
    return _as_json(parsed)


def evaluate(
    rules: dict[str, Any],
    *,
    term: CtcaeTerm,
    grade: int,
    attribution: str,
    onset_date: date,
    ctcae_version: str,
    subject: SubjectRow,
) -> Verdict:
    configured = DltRules.model_validate(rules)
    first_infusion = subject.first_infusion_on
    if first_infusion is not None and subject.dlt_window_end is not None:
        # Enrollment's window: day 1 = first infusion through its window end, inclusive.
        length = (subject.dlt_window_end - first_infusion).days + 1
        if length >= 1:
            configured = configured.model_copy(update={"window_days": length})
    baseline = baseline_grade_of(subject, term.meddra_code, pneumonitis_code=PNEUMONITIS)
    facts = AdverseEventFacts.for_term(
        term,
        grade=grade,
        onset_date=onset_date,
        attribution=Attribution(attribution),
        baseline_grade=baseline,
        ctcae_version=ctcae_version,
    )
    try:
        assessment = assess_dlt(facts, first_infusion=first_infusion, rules=configured)
    except DltInputError as error:
        raise InvalidInput(f"the DLT rules cannot assess this adverse event: {error}") from None
    return Verdict(
        is_suspected_dlt=assessment.is_suspected_dlt,
        study_day=assessment.study_day,
        matched_rules=tuple(match.rule_id.value for match in assessment.matched_rules),
        reasons=assessment.reasons,
        baseline_grade=baseline,
    )
