"""Is one adverse event a suspected dose-limiting toxicity? The protocol's DLT definition as rules.

PROTOCOL.md, "DLT definition (the summary gives none; default, configurable)":

    A DLT is an adverse event in the DLT period, attributed possibly, probably or definitely to
    the cells, that meets any of:
    - grade ≥ 3 non-haematological AE, or grade ≥ 4 haematological AE;
    - grade ≥ 3 infusion-related reaction, allergic reaction, anaphylaxis or cytokine release
      syndrome;
    - worsening of the pre-existing pneumonitis by ≥ 2 grades over the subject's baseline grade,
      or to grade ≥ 4;
    - any grade 5 event.

The DLT period defaults to 30 days from the first infusion: study day 1 is the day of the first
infusion (day 1 of the protocol's infusion schedule), so onset on day 30 is inside and on day 31
outside. Dates are calendar dates at the site. Every number and list here is a default of
`DltRules`, which a trial's protocol file overrides. The software only *suspects* a DLT; a safety
physician confirms or rules it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from safety.dictionary.terms import CtcaeTerm

MeddraCode = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
Grade = Annotated[int, Field(ge=1, le=5)]

# CTCAE v5.0 SOC of the blood disorders (Anemia, Febrile neutropenia, Leukocytosis, …).
BLOOD_AND_LYMPHATIC_SOC: Final = "Blood and lymphatic system disorders"

# The haematology lab terms that CTCAE v5.0 files under "Investigations": the Investigations-SOC
# members of the "Hematology" group of CTCAE-LAB-GRADING.md's table (its other members, Anemia,
# Leukocytosis, Eosinophilia and Febrile neutropenia, are in Blood and lymphatic system
# disorders). The coagulation tests (INR, aPTT, fibrinogen) are a separate group there and are
# not included by default.
HAEMATOLOGY_INVESTIGATIONS: Final = frozenset(
    {
        "10029366",  # Neutrophil count decreased
        "10035528",  # Platelet count decreased
        "10049182",  # White blood cell decreased
        "10025256",  # Lymphocyte count decreased
        "10025258",  # Lymphocyte count increased
        "10007839",  # CD4 lymphocytes decreased
        "10055599",  # Hemoglobin increased
    }
)

# PROTOCOL.md: "infusion-related reaction, allergic reaction, anaphylaxis or cytokine release
# syndrome" (CTCAE v5.0 MedDRA codes).
INFUSION_REACTION_TERMS: Final = frozenset(
    {
        "10051792",  # Infusion related reaction
        "10001718",  # Allergic reaction
        "10002218",  # Anaphylaxis
        "10052015",  # Cytokine release syndrome
    }
)

PNEUMONITIS: Final = "10035742"


class Attribution(StrEnum):
    """Relatedness of the AE to the study product, as the investigator assessed it."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class RuleId(StrEnum):
    GRADE_5 = "grade-5"
    NON_HAEMATOLOGICAL_GRADE = "non-haematological-grade"
    HAEMATOLOGICAL_GRADE = "haematological-grade"
    INFUSION_REACTION_GRADE = "infusion-reaction-grade"
    WORSENING_OVER_BASELINE = "worsening-over-baseline"


class DltRules(BaseModel):
    """A trial's DLT definition; the defaults are PROTOCOL.md's for HDMSC-RP-01."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ctcae_version: str = "5.0"
    window_days: Annotated[int, Field(ge=1)] = 30
    counting_attributions: frozenset[Attribution] = frozenset(
        {Attribution.POSSIBLE, Attribution.PROBABLE, Attribution.DEFINITE}
    )
    non_haematological_min_grade: Grade = 3
    haematological_min_grade: Grade = 4
    haematological_socs: frozenset[str] = frozenset({BLOOD_AND_LYMPHATIC_SOC})
    haematological_terms: frozenset[MeddraCode] = HAEMATOLOGY_INVESTIGATIONS
    infusion_reaction_terms: frozenset[MeddraCode] = INFUSION_REACTION_TERMS
    infusion_reaction_min_grade: Grade = 3
    worsening_terms: frozenset[MeddraCode] = frozenset({PNEUMONITIS})
    worsening_min_increase: Annotated[int, Field(ge=1, le=4)] = 2
    worsening_to_grade: Grade = 4
    any_grade_5: bool = True
    # The protocol says "meets any of", so a pre-existing pneumonitis that reaches grade 3 also
    # meets "grade ≥ 3 non-haematological". A trial that wants pre-existing conditions judged by
    # the worsening rule alone sets this.
    pre_existing_terms_by_worsening_only: bool = False


DEFAULT_RULES: Final = DltRules()


class DltInputError(ValueError):
    """The adverse event cannot be evaluated against these rules (wrong version, bad grade)."""


@dataclass(frozen=True)
class AdverseEventFacts:
    """What the DLT rules need to know about one adverse event.

    `baseline_grade` is the subject's grade of the same term before the first infusion (None or
    0 when the condition was not present).
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
    rule_id: RuleId
    text: str


@dataclass(frozen=True)
class DltAssessment:
    """The verdict on one AE: suspected DLT or not, which rules matched, and why.

    `matched_rules` are the DLT criteria the grade meets; the AE is a suspected DLT only if it is
    also inside the window and its attribution counts (or is not yet assessed).
    """

    is_suspected_dlt: bool
    matched_rules: tuple[RuleMatch, ...]
    study_day: int | None
    in_window: bool
    attribution_counts: bool | None
    reasons: tuple[str, ...]


def study_day(first_infusion: date, day: date) -> int:
    """CDISC study day: the first infusion is day 1, the day before it day -1 (no day 0)."""
    offset = (day - first_infusion).days
    return offset + 1 if offset >= 0 else offset


def is_haematological(event: AdverseEventFacts, rules: DltRules = DEFAULT_RULES) -> bool:
    return event.soc_name in rules.haematological_socs or (
        event.meddra_code in rules.haematological_terms
    )


def _grade_rules(event: AdverseEventFacts, rules: DltRules) -> tuple[list[RuleMatch], list[str]]:
    """The DLT criteria the event's grade meets, and the words for the ones it does not."""
    matches: list[RuleMatch] = []
    notes: list[str] = []
    grade, term = event.grade, event.term_name
    baseline = event.baseline_grade or 0
    pre_existing = event.meddra_code in rules.worsening_terms and baseline > 0
    generic_applies = not (pre_existing and rules.pre_existing_terms_by_worsening_only)

    if rules.any_grade_5 and grade == 5:
        matches.append(RuleMatch(RuleId.GRADE_5, "any grade 5 event"))
    if is_haematological(event, rules):
        threshold = rules.haematological_min_grade
        if generic_applies and grade >= threshold:
            matches.append(
                RuleMatch(RuleId.HAEMATOLOGICAL_GRADE, f"grade ≥ {threshold} haematological AE")
            )
        elif generic_applies:
            notes.append(f"{term} is haematological: grade {grade} is below {threshold}")
    else:
        threshold = rules.non_haematological_min_grade
        if generic_applies and grade >= threshold:
            matches.append(
                RuleMatch(
                    RuleId.NON_HAEMATOLOGICAL_GRADE, f"grade ≥ {threshold} non-haematological AE"
                )
            )
        elif generic_applies:
            notes.append(f"{term} is non-haematological: grade {grade} is below {threshold}")
    if event.meddra_code in rules.infusion_reaction_terms:
        threshold = rules.infusion_reaction_min_grade
        if grade >= threshold:
            matches.append(
                RuleMatch(
                    RuleId.INFUSION_REACTION_GRADE,
                    f"grade ≥ {threshold} infusion-related reaction, allergic reaction, "
                    "anaphylaxis or cytokine release syndrome",
                )
            )
        else:
            notes.append(f"{term}: grade {grade} is below the reaction threshold {threshold}")
    if pre_existing:
        increase = grade - baseline
        text = (
            f"worsening of the pre-existing {term.lower()} by ≥ {rules.worsening_min_increase} "
            f"grades over the baseline grade, or to grade ≥ {rules.worsening_to_grade}"
        )
        if increase >= rules.worsening_min_increase or grade >= rules.worsening_to_grade:
            matches.append(RuleMatch(RuleId.WORSENING_OVER_BASELINE, text))
        else:
            notes.append(
                f"{term} grade {grade} is {increase:+d} over its baseline grade {baseline}: "
                f"not a worsening by ≥ {rules.worsening_min_increase} grades nor grade ≥ "
                f"{rules.worsening_to_grade}"
            )
    return matches, notes


def assess_dlt(
    event: AdverseEventFacts,
    *,
    first_infusion: date | None,
    rules: DltRules = DEFAULT_RULES,
) -> DltAssessment:
    """Evaluate one AE against the trial's DLT rules and the subject's DLT window."""
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
    reasons = [f"meets: {match.text}" for match in matches] + notes
    if not reasons:
        reasons = [f"{event.term_name} grade {event.grade} meets no DLT criterion"]

    day: int | None = None
    in_window = False
    if first_infusion is None:
        reasons.append("no infusion has been given, so there is no DLT window yet")
    else:
        day = study_day(first_infusion, event.onset_date)
        in_window = 1 <= day <= rules.window_days
        place = "inside" if in_window else "outside"
        reasons.append(
            f"onset on study day {day}, {place} the DLT window (days 1–{rules.window_days})"
        )

    counts: bool | None
    if event.attribution is None:
        counts = None
        reasons.append("attribution not yet assessed: flagged until the investigator assesses it")
    else:
        counts = event.attribution in rules.counting_attributions
        counted = ", ".join(sorted(a.value for a in rules.counting_attributions))
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
