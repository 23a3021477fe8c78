"""The protocol's DLT definition applied to one adverse event at a time (PROTOCOL.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from safety.dictionary.terms import CtcaeTerm, GradeDefinition, SystemOrganClass
from safety.dlt.rules import (
    DEFAULT_RULES,
    AdverseEventFacts,
    Attribution,
    DltInputError,
    DltRules,
    RuleId,
    assess_dlt,
    is_haematological,
    study_day,
)

FIRST_INFUSION = date(2026, 3, 2)
RESPIRATORY = "Respiratory, thoracic and mediastinal disorders"
BLOOD = "Blood and lymphatic system disorders"
INVESTIGATIONS = "Investigations"


def on_day(day: int) -> date:
    """The calendar date of study day `day` (day 1 = first infusion, no day 0)."""
    return FIRST_INFUSION + timedelta(days=day - 1 if day > 0 else day)


def event(
    term: str = "Pneumonitis",
    code: str = "10035742",
    soc: str = RESPIRATORY,
    *,
    grade: int = 3,
    day: int = 12,
    attribution: Attribution | None = Attribution.POSSIBLE,
    baseline_grade: int | None = None,
    ctcae_version: str = "5.0",
) -> AdverseEventFacts:
    return AdverseEventFacts(
        meddra_code=code,
        term_name=term,
        soc_name=soc,
        grade=grade,
        onset_date=on_day(day),
        attribution=attribution,
        baseline_grade=baseline_grade,
        ctcae_version=ctcae_version,
    )


def rule_ids(facts: AdverseEventFacts, rules: DltRules = DEFAULT_RULES) -> set[RuleId]:
    assessment = assess_dlt(facts, first_infusion=FIRST_INFUSION, rules=rules)
    return {match.rule_id for match in assessment.matched_rules}


# --- the acceptance cases ----------------------------------------------------------------------


def test_grade_3_pneumonitis_over_baseline_1_possibly_related_on_day_12_is_a_suspected_dlt() -> (
    None
):
    assessment = assess_dlt(event(baseline_grade=1, day=12), first_infusion=FIRST_INFUSION)
    assert assessment.is_suspected_dlt
    assert assessment.study_day == 12
    assert assessment.in_window
    assert assessment.attribution_counts is True
    assert {m.rule_id for m in assessment.matched_rules} == {
        RuleId.NON_HAEMATOLOGICAL_GRADE,
        RuleId.WORSENING_OVER_BASELINE,
    }
    assert "meets: grade ≥ 3 non-haematological AE" in assessment.reasons


def test_the_same_pneumonitis_with_onset_on_day_40_is_not_a_dlt() -> None:
    assessment = assess_dlt(event(baseline_grade=1, day=40), first_infusion=FIRST_INFUSION)
    assert not assessment.is_suspected_dlt
    assert assessment.study_day == 40
    assert not assessment.in_window
    assert "onset on study day 40, outside the DLT window (days 1–30)" in assessment.reasons


# --- the DLT window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "inside"),
    [(1, True), (2, True), (30, True), (31, False), (-1, False), (365, False)],
)
def test_the_window_runs_from_the_first_infusion_day_1_to_day_30(day: int, inside: bool) -> None:
    assessment = assess_dlt(event(day=day), first_infusion=FIRST_INFUSION)
    assert assessment.study_day == day
    assert assessment.in_window is inside
    assert assessment.is_suspected_dlt is inside


def test_study_days_have_no_day_0() -> None:
    assert study_day(FIRST_INFUSION, FIRST_INFUSION) == 1
    assert study_day(FIRST_INFUSION, FIRST_INFUSION - timedelta(days=1)) == -1
    assert study_day(date(2026, 2, 1), date(2026, 3, 2)) == 30  # across a short month


def test_a_subject_without_an_infusion_has_no_window_yet() -> None:
    assessment = assess_dlt(event(), first_infusion=None)
    assert not assessment.is_suspected_dlt
    assert assessment.study_day is None
    assert "no infusion has been given, so there is no DLT window yet" in assessment.reasons


def test_a_longer_window_from_the_protocol_file_is_honoured() -> None:
    rules = DltRules.model_validate({"window_days": 42})
    assert assess_dlt(event(day=40), first_infusion=FIRST_INFUSION, rules=rules).is_suspected_dlt


# --- attribution -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribution", "counts"),
    [
        (Attribution.UNRELATED, False),
        (Attribution.UNLIKELY, False),
        (Attribution.POSSIBLE, True),
        (Attribution.PROBABLE, True),
        (Attribution.DEFINITE, True),
    ],
)
def test_only_possible_probable_or_definite_attribution_counts(
    attribution: Attribution, counts: bool
) -> None:
    assessment = assess_dlt(event(attribution=attribution), first_infusion=FIRST_INFUSION)
    assert assessment.is_suspected_dlt is counts
    assert assessment.attribution_counts is counts
    verb = "counts" if counts else "does not count"
    assert (
        f"attribution '{attribution.value}' {verb} (counted: definite, possible, probable)"
        in assessment.reasons
    )


def test_an_unassessed_attribution_is_flagged_until_the_investigator_assesses_it() -> None:
    assessment = assess_dlt(event(attribution=None), first_infusion=FIRST_INFUSION)
    assert assessment.is_suspected_dlt
    assert assessment.attribution_counts is None
    assert any("attribution not yet assessed" in reason for reason in assessment.reasons)


def test_an_unrelated_death_is_not_a_dlt() -> None:
    assessment = assess_dlt(
        event(
            "Sudden death NOS",
            "10042434",
            "General disorders and administration site conditions",
            grade=5,
            attribution=Attribution.UNRELATED,
        ),
        first_infusion=FIRST_INFUSION,
    )
    assert RuleId.GRADE_5 in {m.rule_id for m in assessment.matched_rules}
    assert not assessment.is_suspected_dlt


# --- grade thresholds by category --------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "code", "soc", "grade", "dlt"),
    [
        ("Cough", "10011224", RESPIRATORY, 2, False),
        ("Cough", "10011224", RESPIRATORY, 3, True),
        ("Neutrophil count decreased", "10029366", INVESTIGATIONS, 3, False),
        ("Neutrophil count decreased", "10029366", INVESTIGATIONS, 4, True),
        ("Platelet count decreased", "10035528", INVESTIGATIONS, 3, False),
        ("Platelet count decreased", "10035528", INVESTIGATIONS, 4, True),
        ("White blood cell decreased", "10049182", INVESTIGATIONS, 3, False),
        ("Lymphocyte count decreased", "10025256", INVESTIGATIONS, 3, False),
        ("Lymphocyte count decreased", "10025256", INVESTIGATIONS, 4, True),
        ("Anemia", "10002272", BLOOD, 3, False),
        ("Anemia", "10002272", BLOOD, 4, True),
        ("Febrile neutropenia", "10016288", BLOOD, 3, False),
        # Not a haematology lab term: an Investigations term is non-haematological by default.
        ("Alanine aminotransferase increased", "10001551", INVESTIGATIONS, 3, True),
        ("INR increased", "10022402", INVESTIGATIONS, 3, True),
    ],
)
def test_non_haematological_needs_grade_3_and_haematological_grade_4(
    term: str, code: str, soc: str, grade: int, dlt: bool
) -> None:
    facts = event(term, code, soc, grade=grade)
    assert assess_dlt(facts, first_infusion=FIRST_INFUSION).is_suspected_dlt is dlt


def test_haematological_means_the_blood_soc_plus_the_haematology_lab_terms() -> None:
    assert is_haematological(event("Anemia", "10002272", BLOOD))
    assert is_haematological(event("Neutrophil count decreased", "10029366", INVESTIGATIONS))
    assert not is_haematological(event("Creatinine increased", "10011368", INVESTIGATIONS))


def test_the_reason_says_why_a_grade_is_below_its_threshold() -> None:
    assessment = assess_dlt(
        event("Anemia", "10002272", BLOOD, grade=3), first_infusion=FIRST_INFUSION
    )
    assert "Anemia is haematological: grade 3 is below 4" in assessment.reasons


@pytest.mark.parametrize(
    ("term", "code", "soc"),
    [
        ("Infusion related reaction", "10051792", "Injury, poisoning and procedural complications"),
        ("Allergic reaction", "10001718", "Immune system disorders"),
        ("Anaphylaxis", "10002218", "Immune system disorders"),
        ("Cytokine release syndrome", "10052015", "Immune system disorders"),
    ],
)
def test_grade_3_reactions_match_the_reaction_rule(term: str, code: str, soc: str) -> None:
    assert rule_ids(event(term, code, soc, grade=3)) == {
        RuleId.NON_HAEMATOLOGICAL_GRADE,
        RuleId.INFUSION_REACTION_GRADE,
    }
    assert rule_ids(event(term, code, soc, grade=2)) == set()


def test_a_protocol_may_lower_the_reaction_threshold() -> None:
    rules = DltRules(infusion_reaction_min_grade=2)
    facts = event("Infusion related reaction", "10051792", "Injury", grade=2)
    assessment = assess_dlt(facts, first_infusion=FIRST_INFUSION, rules=rules)
    assert assessment.is_suspected_dlt
    assert [m.rule_id for m in assessment.matched_rules] == [RuleId.INFUSION_REACTION_GRADE]


def test_any_grade_5_event_matches() -> None:
    assert RuleId.GRADE_5 in rule_ids(event("Anemia", "10002272", BLOOD, grade=5))


# --- worsening of the pre-existing pneumonitis --------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "grade", "worsening"),
    [
        (1, 2, False),
        (1, 3, True),
        (2, 3, False),
        (2, 4, True),
        (3, 4, True),
        (3, 5, True),
    ],
)
def test_pneumonitis_worsening_is_two_grades_over_baseline_or_to_grade_4(
    baseline: int, grade: int, worsening: bool
) -> None:
    matched = rule_ids(event(grade=grade, baseline_grade=baseline))
    assert (RuleId.WORSENING_OVER_BASELINE in matched) is worsening


def test_pneumonitis_from_grade_2_to_3_meets_the_grade_rule_as_the_protocol_says_any_of() -> None:
    assessment = assess_dlt(event(grade=3, baseline_grade=2), first_infusion=FIRST_INFUSION)
    assert assessment.is_suspected_dlt
    assert [m.rule_id for m in assessment.matched_rules] == [RuleId.NON_HAEMATOLOGICAL_GRADE]
    assert any("+1 over its baseline grade 2" in reason for reason in assessment.reasons)


def test_a_protocol_can_judge_pre_existing_pneumonitis_by_worsening_alone() -> None:
    rules = DltRules(pre_existing_terms_by_worsening_only=True)
    two_to_three = event(grade=3, baseline_grade=2)
    one_to_three = event(grade=3, baseline_grade=1)
    assert not assess_dlt(two_to_three, first_infusion=FIRST_INFUSION, rules=rules).is_suspected_dlt
    assert assess_dlt(one_to_three, first_infusion=FIRST_INFUSION, rules=rules).is_suspected_dlt


def test_new_pneumonitis_without_a_baseline_is_judged_like_any_other_ae() -> None:
    assert rule_ids(event(grade=2, baseline_grade=None)) == set()
    assert rule_ids(event(grade=2, baseline_grade=0)) == set()
    assert rule_ids(event(grade=3, baseline_grade=0)) == {RuleId.NON_HAEMATOLOGICAL_GRADE}


# --- configuration and input checks ------------------------------------------------------------


def test_the_defaults_are_the_protocols() -> None:
    assert DEFAULT_RULES.window_days == 30
    assert DEFAULT_RULES.counting_attributions == {
        Attribution.POSSIBLE,
        Attribution.PROBABLE,
        Attribution.DEFINITE,
    }
    assert DEFAULT_RULES.non_haematological_min_grade == 3
    assert DEFAULT_RULES.haematological_min_grade == 4
    assert DEFAULT_RULES.infusion_reaction_min_grade == 3
    assert DEFAULT_RULES.worsening_terms == {"10035742"}
    assert DEFAULT_RULES.worsening_min_increase == 2
    assert DEFAULT_RULES.worsening_to_grade == 4


@pytest.mark.parametrize(
    "override",
    [
        {"window_days": 0},
        {"haematological_min_grade": 6},
        {"counting_attributions": ["possible", "maybe"]},
        {"worsening_terms": ["Pneumonitis"]},
        {"dlt_window": 30},
    ],
)
def test_a_protocol_file_with_a_bad_rule_is_refused(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DltRules.model_validate(override)


def test_rules_loaded_from_a_protocol_file_are_frozen_values() -> None:
    rules = DltRules.model_validate({"counting_attributions": ["probable", "definite"]})
    assert rules.counting_attributions == {Attribution.PROBABLE, Attribution.DEFINITE}
    with pytest.raises(ValidationError):
        rules.window_days = 10  # type: ignore[misc]


def test_an_ae_graded_in_another_ctcae_version_is_refused() -> None:
    with pytest.raises(DltInputError, match=r"written for CTCAE v5\.0"):
        assess_dlt(event(ctcae_version="6.0"), first_infusion=FIRST_INFUSION)


@pytest.mark.parametrize("grade", [0, 6])
def test_a_grade_outside_1_to_5_is_refused(grade: int) -> None:
    with pytest.raises(DltInputError):
        assess_dlt(event(grade=grade), first_infusion=FIRST_INFUSION)


def test_facts_can_be_built_from_a_dictionary_term() -> None:
    pneumonitis = CtcaeTerm(
        meddra_code="10035742",
        name="Pneumonitis",
        soc=SystemOrganClass(RESPIRATORY),
        grades=tuple(GradeDefinition(g, f"grade {g}") for g in range(1, 6)),
        definition=None,
        navigational_note=None,
        change_note=None,
        is_other_specify=False,
    )
    facts = AdverseEventFacts.for_term(
        pneumonitis,
        grade=3,
        onset_date=on_day(12),
        attribution=Attribution.POSSIBLE,
        baseline_grade=1,
        ctcae_version="5.0",
    )
    assert facts == event(baseline_grade=1)
