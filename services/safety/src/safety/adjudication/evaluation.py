"""The bridge between stored rows and the pure DLT rules (`safety.dlt.rules`).

The rules are those of the protocol version in force at the AE's onset date
(`safety.protocols.service.rules_in_force`). The subject's DLT window comes from enrollment's
infusion event (enrollment owns the window; the protocol's `dlt_window.days` is what enrollment
computed it from), so its length is taken from the subject's window when it is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from doseline import sitetime
from doseline.contracts.protocol import Attribution
from doseline.errors import InvalidInput
from safety.dictionary.terms import CtcaeTerm
from safety.dlt.rules import AdverseEventFacts, DltInputError, assess_dlt
from safety.protocols.service import RulesInForce
from safety.subjects.models import SubjectRow
from safety.subjects.service import PNEUMONITIS_CODE, baseline_grade_of

CTCAE_VERSION: Final = "5.0"


@dataclass(frozen=True)
class Verdict:
    is_suspected_dlt: bool
    study_day: int | None
    matched_rules: tuple[str, ...]
    reasons: tuple[str, ...]
    baseline_grade: int | None


def evaluate(
    protocol: RulesInForce,
    *,
    term: CtcaeTerm,
    grade: int,
    attribution: str,
    onset_date: date,
    ctcae_version: str,
    subject: SubjectRow,
) -> Verdict:
    rules = protocol.rules
    window_days = rules.dlt_window.days
    first_infusion = subject.first_infusion_on
    if first_infusion is not None and subject.dlt_window_end is not None:
        # Enrollment's window: day 1 = first infusion through its window end, inclusive.
        length = sitetime.study_day(first_infusion, subject.dlt_window_end)
        if length >= 1:
            window_days = length
    baseline = baseline_grade_of(subject, term.meddra_code, pneumonitis_code=PNEUMONITIS_CODE)
    facts = AdverseEventFacts.for_term(
        term,
        grade=grade,
        onset_date=onset_date,
        attribution=Attribution(attribution),
        baseline_grade=baseline,
        ctcae_version=ctcae_version,
    )
    try:
        assessment = assess_dlt(
            facts, first_infusion=first_infusion, rules=rules.dlt_rules, window_days=window_days
        )
    except DltInputError as error:
        raise InvalidInput(f"the DLT rules cannot assess this adverse event: {error}") from None
    return Verdict(
        is_suspected_dlt=assessment.is_suspected_dlt,
        study_day=assessment.study_day,
        matched_rules=tuple(match.criterion_id for match in assessment.matched_rules),
        reasons=(f"rules of {protocol.label}", *assessment.reasons),
        baseline_grade=baseline,
    )
