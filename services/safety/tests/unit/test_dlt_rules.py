"""The protocol's DLT definition applied to one adverse event at a time (PROTOCOL.md).

The rules are read from the shipped protocol document (services/enrollment/protocols), the one
place they are written; safety receives the same rules in enrollment's protocol event.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from doseline import sitetime
from doseline.contracts.protocol import Attribution, DltRules
from safety.dictionary.terms import CtcaeTerm, GradeDefinition, SystemOrganClass
from safety.dlt.rules import AdverseEventFacts, DltInputError, assess_dlt, is_haematological

SHIPPED = Path(__file__).resolve().parents[3] / "enrollment" / "protocols" / "hdmsc-rp-01.yaml"
DOCUMENT: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
RULES = DltRules.model_validate(DOCUMENT["dlt_rules"])
WINDOW_DAYS: int = DOCUMENT["dlt_window"]["days"]

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


def assess(
    facts: AdverseEventFacts,
    *,
    first_infusion: date | None = FIRST_INFUSION,
    rules: DltRules = RULES,
    window_days: int = WINDOW_DAYS,
) -> Any:
    return assess_dlt(facts, first_infusion=first_infusion, rules=rules, window_days=window_days)


def rule_ids(facts: AdverseEventFacts, rules: DltRules = RULES) -> set[str]:
    return {match.criterion_id for match in assess(facts, rules=rules).matched_rules}


def with_criterion(criterion_id: str, **changes: object) -> DltRules:
    """The shipped rules with one criterion changed, as a protocol amendment would."""
    document = RULES.model_dump(mode="json")
    for criterion in document["criteria"]:
        if criterion["id"] == criterion_id:
            criterion.update(changes)
    return DltRules.model_validate(document)


# --- the acceptance cases ----------------------------------------------------------------------


def test_grade_3_pneumonitis_over_baseline_1_possibly_related_on_day_12_is_a_suspected_dlt() -> (
    None
):
    assessment = assess(event(baseline_grade=1, day=12))
    assert assessment.is_suspected_dlt
    assert assessment.study_day == 12
    assert assessment.in_window
    assert assessment.attribution_counts is True
    # PROTOCOL.md: pneumonitis is judged against its baseline only (DLT-04), never by DLT-01.
    assert {m.criterion_id for m in assessment.matched_rules} == {"DLT-04"}
    assert (
        "meets DLT-04: Pneumonitis worse than the subject's baseline grade by 2 grades or more"
        in assessment.reasons
    )


def test_the_same_pneumonitis_with_onset_on_day_40_is_not_a_dlt() -> None:
    assessment = assess(event(baseline_grade=1, day=40))
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
    assessment = assess(event(day=day))
    assert assessment.study_day == day
    assert assessment.in_window is inside
    assert assessment.is_suspected_dlt is inside


def test_study_days_have_no_day_0() -> None:
    assert sitetime.study_day(FIRST_INFUSION, FIRST_INFUSION) == 1
    assert sitetime.study_day(FIRST_INFUSION, FIRST_INFUSION - timedelta(days=1)) == -1
    assert sitetime.study_day(date(2026, 2, 1), date(2026, 3, 2)) == 30  # across a short month


def test_a_subject_without_an_infusion_has_no_window_yet() -> None:
    assessment = assess(event(), first_infusion=None)
    assert not assessment.is_suspected_dlt
    assert assessment.study_day is None
    assert "no infusion has been given, so there is no DLT window yet" in assessment.reasons


def test_a_longer_window_from_the_protocol_file_is_honoured() -> None:
    assert assess(event(day=40, baseline_grade=1), window_days=42).is_suspected_dlt


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
    assessment = assess(event(attribution=attribution))
    assert assessment.is_suspected_dlt is counts
    assert assessment.attribution_counts is counts
    verb = "counts" if counts else "does not count"
    assert (
        f"attribution '{attribution.value}' {verb} (counted: definite, possible, probable)"
        in assessment.reasons
    )


def test_an_unassessed_attribution_is_flagged_until_the_investigator_assesses_it() -> None:
    assessment = assess(event(attribution=None))
    assert assessment.is_suspected_dlt
    assert assessment.attribution_counts is None
    assert any("attribution not yet assessed" in reason for reason in assessment.reasons)


def test_an_unrelated_death_is_not_a_dlt() -> None:
    assessment = assess(
        event(
            "Sudden death NOS",
            "10042434",
            "General disorders and administration site conditions",
            grade=5,
            attribution=Attribution.UNRELATED,
        ),
    )
    assert "DLT-06" in {m.criterion_id for m in assessment.matched_rules}
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
    assert assess(facts).is_suspected_dlt is dlt


def test_haematological_means_the_blood_soc_plus_the_haematology_lab_terms() -> None:
    assert is_haematological(event("Anemia", "10002272", BLOOD), RULES)
    assert is_haematological(event("Neutrophil count decreased", "10029366", INVESTIGATIONS), RULES)
    assert not is_haematological(event("Creatinine increased", "10011368", INVESTIGATIONS), RULES)


def test_the_reason_says_why_a_grade_is_below_its_threshold() -> None:
    assessment = assess(event("Anemia", "10002272", BLOOD, grade=3))
    assert (
        "DLT-02 (Grade ≥ 4 haematological adverse event) not met: grade 3 is below 4"
        in assessment.reasons
    )


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
        "DLT-01",
        "DLT-03",
    }
    assert rule_ids(event(term, code, soc, grade=2)) == set()


def test_a_protocol_may_lower_the_reaction_threshold() -> None:
    rules = with_criterion("DLT-03", min_grade=2)
    facts = event("Infusion related reaction", "10051792", "Injury", grade=2)
    assessment = assess(facts, rules=rules)
    assert assessment.is_suspected_dlt
    assert [m.criterion_id for m in assessment.matched_rules] == ["DLT-03"]


def test_any_grade_5_event_matches() -> None:
    assert "DLT-06" in rule_ids(event("Anemia", "10002272", BLOOD, grade=5))


# --- pneumonitis: judged only against the subject's baseline grade (PROTOCOL.md) --------------


@pytest.mark.parametrize(
    ("baseline", "grade", "expected"),
    [
        (1, 2, set()),
        (1, 3, {"DLT-04"}),  # PROTOCOL.md: baseline 1 -> 3 is a DLT
        (2, 3, set()),  # PROTOCOL.md: baseline 2 -> 3 is not a DLT
        (2, 4, {"DLT-04", "DLT-05"}),
        (3, 4, {"DLT-05"}),  # PROTOCOL.md: baseline 3 -> 4 is a DLT
        (3, 3, set()),  # PROTOCOL.md: staying at the baseline grade 3 is not a DLT
        (3, 5, {"DLT-04", "DLT-05", "DLT-06"}),
    ],
)
def test_pneumonitis_is_two_grades_over_baseline_or_grade_4_and_never_the_general_rule(
    baseline: int, grade: int, expected: set[str]
) -> None:
    assert rule_ids(event(grade=grade, baseline_grade=baseline)) == expected


def test_pneumonitis_from_grade_2_to_3_is_not_a_dlt() -> None:
    """PROTOCOL.md: "baseline 2 → 3 is not a DLT" (the general grade ≥ 3 rule excepts it)."""
    assessment = assess(event(grade=3, baseline_grade=2))
    assert not assessment.is_suspected_dlt
    assert assessment.matched_rules == ()
    assert any("+1 over the baseline grade 2" in reason for reason in assessment.reasons)


def test_an_amendment_can_make_the_pneumonitis_rule_one_grade_over_baseline() -> None:
    rules = with_criterion("DLT-04", min_increase_over_baseline=1)
    assert assess(event(grade=3, baseline_grade=2), rules=rules).is_suspected_dlt
    assert not assess(event(grade=3, baseline_grade=3), rules=rules).is_suspected_dlt


def test_pneumonitis_without_a_recorded_baseline_is_measured_from_grade_0() -> None:
    assert rule_ids(event(grade=1, baseline_grade=None)) == set()
    assert rule_ids(event(grade=2, baseline_grade=None)) == {"DLT-04"}
    assert rule_ids(event(grade=2, baseline_grade=0)) == {"DLT-04"}


# --- configuration and input checks ------------------------------------------------------------


def test_the_rules_are_the_protocol_documents() -> None:
    assert WINDOW_DAYS == 30
    assert set(RULES.counted_attributions) == {
        Attribution.POSSIBLE,
        Attribution.PROBABLE,
        Attribution.DEFINITE,
    }
    by_id = {criterion.id: criterion for criterion in RULES.criteria}
    assert by_id["DLT-01"].min_grade == 3
    assert [t.meddra_code for t in by_id["DLT-01"].except_terms] == ["10035742"]
    assert by_id["DLT-02"].min_grade == 4
    assert by_id["DLT-03"].min_grade == 3
    assert by_id["DLT-04"].min_increase_over_baseline == 2
    assert by_id["DLT-05"].min_grade == 4
    assert by_id["DLT-06"].min_grade == 5


@pytest.mark.parametrize(
    "change",
    [
        {"counted_attributions": ["possible", "maybe"]},
        {"criteria": [{"id": "X", "text": "no threshold"}]},
        {"criteria": [{"id": "X", "text": "grade 6", "min_grade": 6}]},
        {"haematological": {"socs": []}},
        {"window_days": 30},
    ],
)
def test_a_protocol_file_with_a_bad_rule_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DltRules.model_validate({**RULES.model_dump(mode="json"), **change})


def test_rules_loaded_from_a_protocol_file_are_frozen_values() -> None:
    rules: Any = RULES  # as code that ignores the types would write it
    with pytest.raises(ValidationError):
        rules.ctcae_version = "6.0"


def test_an_ae_graded_in_another_ctcae_version_is_refused() -> None:
    with pytest.raises(DltInputError, match=r"written for CTCAE v5\.0"):
        assess(event(ctcae_version="6.0"))


@pytest.mark.parametrize("grade", [0, 6])
def test_a_grade_outside_1_to_5_is_refused(grade: int) -> None:
    with pytest.raises(DltInputError):
        assess(event(grade=grade))


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
