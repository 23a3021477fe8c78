"""Is one adverse event a suspected dose-limiting toxicity under a protocol's DLT rules?

The rules are data: the ``dlt_rules`` and ``dlt_window`` of the protocol version in force
(``doseline.contracts.protocol``), received from enrollment's ``enrollment.protocol.activated``
event. Nothing of the DLT definition is written here; this module only applies it:

- an AE is a suspected DLT when its grade meets ANY criterion of the rule set, its onset is in
  the subject's DLT window, and its attribution counts (or is not assessed yet);
- a criterion applies to an AE when the AE is in its ``category`` (haematological or not, as
  the rule set's ``haematological`` section defines), among its ``terms`` when it lists any, and
  not among its ``except_terms``; it is met when every threshold it gives is met
  (``min_grade``; ``min_increase_over_baseline`` against the subject's baseline grade of the
  same term, 0 when the condition was absent or its baseline is not recorded).

Study days are CDISC's (``doseline.sitetime.study_day``). The software only *suspects* a DLT;
a safety physician confirms or rules it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from doseline import sitetime
from doseline.contracts.protocol import AeCategory, Attribution, DltCriterion, DltRules
from safety.dictionary.terms import CtcaeTerm


class DltInputError(ValueError):
    """The adverse event cannot be evaluated against these rules (wrong version, bad grade)."""


@dataclass(frozen=True)
class AdverseEventFacts:
    """What the DLT rules need to know about one adverse event.

    ``baseline_grade`` is the subject's grade of the same term before the first infusion (None
    when not recorded, 0 when the condition was absent).
    """

    meddra_code: str
    term_name: str
    soc_name: str
    grade: int
    onset_date: date
    attribution: Attribution | None
    baseline_grade: int | None = None
    ctcae_version: str = "5.0"

    @classmethod
    def for_term(
        cls,
        term: CtcaeTerm,
        *,
        grade: int,
        onset_date: date,
        attribution: Attribution | None,
        baseline_grade: int | None = None,
        ctcae_version: str,
    ) -> AdverseEventFacts:
        return cls(
            meddra_code=term.meddra_code,
            term_name=term.name,
            soc_name=term.soc.name,
            grade=grade,
            onset_date=onset_date,
            attribution=attribution,
            baseline_grade=baseline_grade,
            ctcae_version=ctcae_version,
        )


@dataclass(frozen=True)
class RuleMatch:
    """A criterion of the protocol's rule set that the AE meets (``criterion_id`` = DLT-04)."""

    criterion_id: str
    text: str


@dataclass(frozen=True)
class DltAssessment:
    """The verdict on one AE: suspected DLT or not, which criteria matched, and why."""

    is_suspected_dlt: bool
    matched_rules: tuple[RuleMatch, ...]
    study_day: int | None
    in_window: bool
    attribution_counts: bool | None
    reasons: tuple[str, ...]


def is_haematological(event: AdverseEventFacts, rules: DltRules) -> bool:
    return rules.is_haematological(meddra_code=event.meddra_code, soc_name=event.soc_name)


def applies_to(criterion: DltCriterion, event: AdverseEventFacts, rules: DltRules) -> bool:
    """Is the AE in the criterion's scope (category, terms, except_terms)?"""
    if criterion.category is not AeCategory.ANY:
        haematological = is_haematological(event, rules)
        if haematological != (criterion.category is AeCategory.HAEMATOLOGICAL):
            return False
    codes = {term.meddra_code for term in criterion.terms}
    if codes and event.meddra_code not in codes:
        return False
    return event.meddra_code not in {term.meddra_code for term in criterion.except_terms}


def _shortfall(criterion: DltCriterion, event: AdverseEventFacts) -> str | None:
    """Why the AE in scope does not meet the criterion's thresholds (None if it meets them)."""
    misses = []
    if criterion.min_grade is not None and event.grade < criterion.min_grade:
        misses.append(f"grade {event.grade} is below {criterion.min_grade}")
    if criterion.min_increase_over_baseline is not None:
        baseline = event.baseline_grade or 0
        increase = event.grade - baseline
        if increase < criterion.min_increase_over_baseline:
            misses.append(
                f"grade {event.grade} is {increase:+d} over the baseline grade {baseline}, "
                f"not +{criterion.min_increase_over_baseline} or more"
            )
    return "; ".join(misses) or None


def _grade_rules(event: AdverseEventFacts, rules: DltRules) -> tuple[list[RuleMatch], list[str]]:
    matches: list[RuleMatch] = []
    notes: list[str] = []
    for criterion in rules.criteria:
        if not applies_to(criterion, event, rules):
            continue
        shortfall = _shortfall(criterion, event)
        if shortfall is None:
            matches.append(RuleMatch(criterion.id, criterion.text))
        else:
            notes.append(f"{criterion.id} ({criterion.text}) not met: {shortfall}")
    return matches, notes


def assess_dlt(
    event: AdverseEventFacts,
    *,
    first_infusion: date | None,
    rules: DltRules,
    window_days: int,
) -> DltAssessment:
    """Evaluate one AE against a rule set and a DLT window of ``window_days`` from day 1."""
    if event.ctcae_version != rules.ctcae_version:
        raise DltInputError(
            f"the DLT rules are written for CTCAE v{rules.ctcae_version}; this AE is graded in "
            f"CTCAE v{event.ctcae_version}"
        )
    if not 1 <= event.grade <= 5:
        raise DltInputError(f"CTCAE grades are 1 to 5, not {event.grade}")
    if event.baseline_grade is not None and not 0 <= event.baseline_grade <= 5:
        raise DltInputError(f"a baseline grade is 0 to 5, not {event.baseline_grade}")

    matches, notes = _grade_rules(event, rules)
    reasons = [f"meets {match.criterion_id}: {match.text}" for match in matches] + notes
    if not reasons:
        reasons = [f"{event.term_name} grade {event.grade} is in the scope of no DLT criterion"]

    day: int | None = None
    in_window = False
    if first_infusion is None:
        reasons.append("no infusion has been given, so there is no DLT window yet")
    else:
        day = sitetime.study_day(first_infusion, event.onset_date)
        in_window = 1 <= day <= window_days
        place = "inside" if in_window else "outside"
        reasons.append(f"onset on study day {day}, {place} the DLT window (days 1–{window_days})")

    counts: bool | None
    if event.attribution is None:
        counts = None
        reasons.append("attribution not yet assessed: flagged until the investigator assesses it")
    else:
        counts = event.attribution in rules.counted_attributions
        counted = ", ".join(sorted(a.value for a in rules.counted_attributions))
        verb = "counts" if counts else "does not count"
        reasons.append(f"attribution '{event.attribution.value}' {verb} (counted: {counted})")

    return DltAssessment(
        is_suspected_dlt=bool(matches) and in_window and counts is not False,
        matched_rules=tuple(matches),
        study_day=day,
        in_window=in_window,
        attribution_counts=counts,
        reasons=tuple(reasons),
    )
