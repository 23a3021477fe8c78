"""Proposed CTCAE v5.0 grades from structured answers, the questions still needed, and the
reaction-term overlap the investigator must settle."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

import pytest

from safety.grading.clinical import (
    ANSWER_MODELS,
    QUESTIONS,
    AdlLimitation,
    AllergicReactionAnswers,
    AnaphylaxisAnswers,
    AnswerType,
    ClinicalGrade,
    ClinicalTerm,
    CoughAnswers,
    CytokineReleaseSyndromeAnswers,
    DyspneaAnswers,
    Exertion,
    FeverAnswers,
    HypotensionManagement,
    HypoxiaAnswers,
    InfusionRelatedReactionAnswers,
    OxygenNeed,
    PneumonitisAnswers,
    ReactionSigns,
    Severity,
    grade_clinical,
    questions_for,
    reaction_overlap,
)
from safety.grading.lab import LabContext, LabTerm, grade_lab

D = Decimal
NO_OUTCOME: dict[str, Any] = {
    "death": False,
    "life_threatening": False,
    "urgent_intervention": False,
}
QUIET_PNEUMONITIS: dict[str, Any] = {
    **NO_OUTCOME,
    "medical_intervention": False,
    "adl_limitation": AdlLimitation.NONE,
    "oxygen": OxygenNeed.NONE,
}


def graded(answers: Any) -> ClinicalGrade:
    return grade_clinical(answers)


# --- Pneumonitis -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "grade", "decided_by"),
    [
        (PneumonitisAnswers(death=True), 5, ("death",)),
        (PneumonitisAnswers(death=False, life_threatening=True), 4, ("life_threatening",)),
        (
            PneumonitisAnswers(death=False, life_threatening=False, urgent_intervention=True),
            4,
            ("urgent_intervention",),
        ),
        (PneumonitisAnswers(**NO_OUTCOME, severity=Severity.SEVERE), 3, ("severity",)),
        (
            PneumonitisAnswers(**NO_OUTCOME, adl_limitation=AdlLimitation.SELF_CARE),
            3,
            ("adl_limitation",),
        ),
        (PneumonitisAnswers(**NO_OUTCOME, oxygen=OxygenNeed.INTERMITTENT), 3, ("oxygen",)),
        (PneumonitisAnswers(**NO_OUTCOME, oxygen=OxygenNeed.CONTINUOUS), 3, ("oxygen",)),
        (
            PneumonitisAnswers(
                **{**QUIET_PNEUMONITIS, "medical_intervention": True},
                severity=Severity.MODERATE,
            ),
            2,
            ("medical_intervention", "severity"),
        ),
        (
            PneumonitisAnswers(**QUIET_PNEUMONITIS, symptomatic=True, severity=Severity.MILD),
            2,
            ("symptomatic",),
        ),
        (
            PneumonitisAnswers(
                **{**QUIET_PNEUMONITIS, "adl_limitation": AdlLimitation.INSTRUMENTAL},
                symptomatic=True,
                severity=Severity.MODERATE,
            ),
            2,
            ("adl_limitation", "symptomatic"),
        ),
        (PneumonitisAnswers(**QUIET_PNEUMONITIS, symptomatic=False), 1, ("symptomatic",)),
        (PneumonitisAnswers(**QUIET_PNEUMONITIS, severity=Severity.NONE), 1, ("severity",)),
    ],
)
def test_pneumonitis_grades_from_the_answers_that_decide_them(
    answers: PneumonitisAnswers, grade: int, decided_by: tuple[str, ...]
) -> None:
    result = graded(answers)
    assert result.grade == grade, result.reason
    assert result.decided_by == decided_by
    assert result.ctcae_term == "Pneumonitis"
    assert result.meddra_code == "10035742"
    assert result.ctcae_version == "5.0"


def test_an_asymptomatic_radiological_pneumonitis_treated_with_steroids_is_grade_2() -> None:
    # Semicolon = OR: "Symptomatic; medical intervention indicated; limiting instrumental ADL".
    answers = PneumonitisAnswers(
        **{**QUIET_PNEUMONITIS, "medical_intervention": True}, symptomatic=False
    )
    assert graded(answers).grade == 2


def test_symptoms_without_severity_adl_and_oxygen_leave_grade_2_or_3_open() -> None:
    result = graded(PneumonitisAnswers(**NO_OUTCOME, symptomatic=True))
    assert result.grade is None
    assert result.possible_grades == (2, 3)
    assert result.missing == ("adl_limitation", "oxygen", "severity")
    assert "answer adl_limitation, oxygen, severity" in result.reason


def test_an_empty_form_could_be_any_grade() -> None:
    result = graded(PneumonitisAnswers())
    assert result.possible_grades == (1, 2, 3, 4, 5)
    assert "death" in result.missing


def test_death_not_answered_keeps_grade_5_possible() -> None:
    answers = PneumonitisAnswers(**{**QUIET_PNEUMONITIS, "death": None}, symptomatic=False)
    result = graded(answers)
    assert result.possible_grades == (1, 5)
    assert result.missing == ("death",)


# --- Dyspnea, Cough ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exertion", "adl", "grade"),
    [
        (Exertion.AT_REST, AdlLimitation.NONE, 3),
        (Exertion.MINIMAL, AdlLimitation.NONE, 2),
        (Exertion.MODERATE, AdlLimitation.NONE, 1),
        (Exertion.MODERATE, AdlLimitation.SELF_CARE, 3),
        (Exertion.MODERATE, AdlLimitation.INSTRUMENTAL, 2),
        (Exertion.NONE, AdlLimitation.NONE, 0),
    ],
)
def test_dyspnea_is_graded_by_exertion_and_adl(
    exertion: Exertion, adl: AdlLimitation, grade: int
) -> None:
    result = graded(DyspneaAnswers(**NO_OUTCOME, exertion=exertion, adl_limitation=adl))
    assert result.grade == grade


def test_dyspnea_without_the_exertion_answer_asks_for_it() -> None:
    result = graded(DyspneaAnswers(**NO_OUTCOME, adl_limitation=AdlLimitation.NONE))
    assert result.grade is None
    assert result.possible_grades == (0, 1, 2, 3)
    assert result.missing == ("exertion",)


@pytest.mark.parametrize(
    ("answers", "grade"),
    [
        (CoughAnswers(severity=Severity.SEVERE), 3),
        (CoughAnswers(severity=Severity.MILD, adl_limitation=AdlLimitation.SELF_CARE), 3),
        (
            CoughAnswers(
                severity=Severity.MODERATE,
                adl_limitation=AdlLimitation.NONE,
            ),
            2,
        ),
        (
            CoughAnswers(
                severity=Severity.MILD,
                adl_limitation=AdlLimitation.NONE,
                medical_intervention=True,
            ),
            2,
        ),
        (
            CoughAnswers(
                severity=Severity.MILD,
                adl_limitation=AdlLimitation.NONE,
                medical_intervention=False,
            ),
            1,
        ),
    ],
)
def test_cough_has_no_grade_above_3(answers: CoughAnswers, grade: int) -> None:
    assert graded(answers).grade == grade
    assert all(q.id != "death" for q in questions_for(ClinicalTerm.COUGH))


# --- Hypoxia -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "grade", "decided_by"),
    [
        (HypoxiaAnswers(**NO_OUTCOME, spo2_at_rest_percent=D("87")), 3, ("spo2_at_rest_percent",)),
        (HypoxiaAnswers(**NO_OUTCOME, pao2_mmhg=D("55")), 3, ("pao2_mmhg",)),
        (
            HypoxiaAnswers(
                **NO_OUTCOME,
                spo2_at_rest_percent=D("92"),
                spo2_with_exercise_percent=D("86"),
            ),
            2,
            ("spo2_with_exercise_percent",),
        ),
        (
            HypoxiaAnswers(
                **NO_OUTCOME, desaturation_at_rest=False, oxygen=OxygenNeed.INTERMITTENT
            ),
            2,
            ("oxygen",),
        ),
        (
            HypoxiaAnswers(
                **NO_OUTCOME,
                spo2_at_rest_percent=D("88"),
                spo2_with_exercise_percent=D("88"),
                oxygen=OxygenNeed.NONE,
            ),
            0,
            (
                "death",
                "life_threatening",
                "oxygen",
                "spo2_at_rest_percent",
                "spo2_with_exercise_percent",
                "urgent_intervention",
            ),
        ),
    ],
)
def test_hypoxia_uses_the_saturation_rule_when_the_investigator_has_not_answered(
    answers: HypoxiaAnswers, grade: int, decided_by: tuple[str, ...]
) -> None:
    result = graded(answers)
    assert result.grade == grade
    assert result.decided_by == decided_by


def test_the_investigators_answer_overrides_the_oximeter_example() -> None:
    # NCI writes "e.g., pulse oximeter <88%": an example, which the investigator may overrule.
    answers = HypoxiaAnswers(
        **NO_OUTCOME,
        desaturation_at_rest=False,
        desaturation_with_exercise=True,
        spo2_at_rest_percent=D("87"),
        oxygen=OxygenNeed.NONE,
    )
    assert graded(answers).grade == 2


def test_hypoxia_has_no_grade_1() -> None:
    assert graded(HypoxiaAnswers()).possible_grades == (0, 2, 3, 4, 5)


# --- Infusion related reaction, Allergic reaction, Anaphylaxis ----------------------------------

IRR_QUIET: dict[str, Any] = {
    **NO_OUTCOME,
    "recurrence_after_improvement": False,
    "hospitalization": False,
    "prophylaxis_up_to_24_hours": False,
}


@pytest.mark.parametrize(
    ("answers", "grade"),
    [
        (
            InfusionRelatedReactionAnswers(
                **IRR_QUIET, infusion_interrupted=False, symptomatic_treatment=False
            ),
            1,
        ),
        (
            InfusionRelatedReactionAnswers(
                **IRR_QUIET,
                infusion_interrupted=True,
                symptomatic_treatment=False,
                prompt_response=True,
            ),
            2,
        ),
        (
            InfusionRelatedReactionAnswers(
                **{**IRR_QUIET, "prophylaxis_up_to_24_hours": True},
                infusion_interrupted=False,
                symptomatic_treatment=False,
            ),
            2,
        ),
        (
            InfusionRelatedReactionAnswers(
                **IRR_QUIET,
                infusion_interrupted=False,
                symptomatic_treatment=True,
                prompt_response=False,
            ),
            3,
        ),
        (
            InfusionRelatedReactionAnswers(
                **{**IRR_QUIET, "recurrence_after_improvement": True},
                infusion_interrupted=True,
                prompt_response=True,
            ),
            3,
        ),
        (InfusionRelatedReactionAnswers(**{**IRR_QUIET, "hospitalization": True}), 3),
        (InfusionRelatedReactionAnswers(death=False, life_threatening=True), 4),
    ],
)
def test_infusion_related_reaction_grades(
    answers: InfusionRelatedReactionAnswers, grade: int
) -> None:
    assert graded(answers).grade == grade


def test_an_interrupted_infusion_needs_to_know_whether_the_reaction_responded_promptly() -> None:
    result = graded(InfusionRelatedReactionAnswers(**IRR_QUIET, infusion_interrupted=True))
    assert result.possible_grades == (2, 3)
    assert result.missing == ("prompt_response",)


@pytest.mark.parametrize(
    ("answers", "grade"),
    [
        (AllergicReactionAnswers(**NO_OUTCOME, bronchospasm=True), 3),
        (AllergicReactionAnswers(**NO_OUTCOME, intravenous_intervention=True), 3),
        (AllergicReactionAnswers(**NO_OUTCOME, hospitalization=True), 3),
        (
            AllergicReactionAnswers(
                **NO_OUTCOME,
                bronchospasm=False,
                hospitalization=False,
                intravenous_intervention=False,
                oral_intervention=True,
            ),
            2,
        ),
        (
            AllergicReactionAnswers(
                **NO_OUTCOME,
                bronchospasm=False,
                hospitalization=False,
                intravenous_intervention=False,
                oral_intervention=False,
                systemic_intervention=False,
            ),
            1,
        ),
        (AnaphylaxisAnswers(**NO_OUTCOME, hypotension=True), 3),
        (AnaphylaxisAnswers(**NO_OUTCOME, angioedema=True), 3),
        (AnaphylaxisAnswers(**NO_OUTCOME, parenteral_intervention=True), 3),
        (AnaphylaxisAnswers(death=False, urgent_intervention=True), 4),
        (
            AnaphylaxisAnswers(
                **NO_OUTCOME,
                bronchospasm=False,
                parenteral_intervention=False,
                angioedema=False,
                hypotension=False,
            ),
            0,
        ),
    ],
)
def test_allergic_reaction_and_anaphylaxis_grades(answers: Any, grade: int) -> None:
    assert graded(answers).grade == grade


# --- Cytokine release syndrome and Fever --------------------------------------------------------


@pytest.mark.parametrize(
    ("hypotension", "fio2", "fever", "grade"),
    [
        (HypotensionManagement.NONE, "21", True, 1),
        (HypotensionManagement.FLUIDS, "21", True, 2),
        (HypotensionManagement.NONE, "30", True, 2),
        (HypotensionManagement.NONE, "39.9", True, 2),
        (HypotensionManagement.NONE, "40", True, 3),
        (HypotensionManagement.ONE_PRESSOR, "21", True, 3),
        (HypotensionManagement.MORE_THAN_ONE_PRESSOR, "21", True, 3),
        (HypotensionManagement.NONE, "21", False, 0),
    ],
)
def test_cytokine_release_syndrome_grades_by_pressors_and_oxygen(
    hypotension: HypotensionManagement, fio2: str, fever: bool, grade: int
) -> None:
    answers = CytokineReleaseSyndromeAnswers(
        **NO_OUTCOME, fever=fever, hypotension_management=hypotension, oxygen_fio2_percent=D(fio2)
    )
    assert graded(answers).grade == grade


@pytest.mark.parametrize(
    ("peak", "hours", "grade"),
    [
        ("37.9", None, 0),
        ("38.0", None, 1),
        ("39.0", None, 1),
        ("39.01", None, 2),
        ("40.0", None, 2),
        ("40.01", "24", 3),
        ("40.01", "25", 4),
        ("40.5", None, None),
    ],
)
def test_fever_grades_by_peak_and_hours_above_40(
    peak: str, hours: str | None, grade: int | None
) -> None:
    answers = FeverAnswers(
        death=False,
        peak_temperature_celsius=D(peak),
        hours_above_40_celsius=None if hours is None else D(hours),
    )
    result = graded(answers)
    assert result.grade == grade
    if grade is None:
        assert result.possible_grades == (3, 4)
        assert result.missing == ("hours_above_40_celsius",)


def test_clinical_and_numeric_fever_agree_at_every_temperature() -> None:
    for step in range(0, 81):
        peak = D("37.0") + D("0.05") * step
        for hours in (None, D("2"), D("30")):
            clinical = graded(
                FeverAnswers(
                    death=False, peak_temperature_celsius=peak, hours_above_40_celsius=hours
                )
            )
            numeric = grade_lab(
                LabTerm.FEVER, peak, "Cel", context=LabContext(hours_above_40_celsius=hours)
            )
            assert clinical.grade == numeric.grade, (peak, hours)


# --- the overlap of the reaction terms ---------------------------------------------------------


def test_fever_soon_after_an_infusion_is_flagged_as_fever_irr_or_crs() -> None:
    result = graded(
        FeverAnswers(death=False, peak_temperature_celsius=D("38.5"), began_with_infusion=True)
    )
    assert result.grade == 1
    assert result.overlap is not None
    assert [c.term for c in result.overlap.candidates] == [
        ClinicalTerm.INFUSION_RELATED_REACTION,
        ClinicalTerm.CYTOKINE_RELEASE_SYNDROME,
        ClinicalTerm.FEVER,
    ]
    assert "investigator chooses" in result.overlap.message


def test_an_allergic_reaction_during_infusion_quotes_nci_do_not_report_both() -> None:
    result = graded(
        AllergicReactionAnswers(
            **NO_OUTCOME,
            bronchospasm=False,
            urticaria=True,
            began_with_infusion=True,
            oral_intervention=True,
            hospitalization=False,
            intravenous_intervention=False,
        )
    )
    assert result.grade == 2
    assert result.overlap is not None
    terms = {c.term: c.why for c in result.overlap.candidates}
    assert terms == {
        ClinicalTerm.INFUSION_RELATED_REACTION: (
            "began during an infusion or within 24 hours after it"
        ),
        ClinicalTerm.ALLERGIC_REACTION: "the term being graded",
    }
    assert "Do not report both." in result.overlap.message


def test_an_infusion_reaction_with_fever_hypotension_and_urticaria_lists_every_candidate() -> None:
    result = graded(
        InfusionRelatedReactionAnswers(
            **IRR_QUIET,
            fever=True,
            hypotension=True,
            urticaria=True,
            infusion_interrupted=True,
            prompt_response=True,
        )
    )
    assert result.overlap is not None
    assert [c.term for c in result.overlap.candidates] == [
        ClinicalTerm.INFUSION_RELATED_REACTION,
        ClinicalTerm.ALLERGIC_REACTION,
        ClinicalTerm.ANAPHYLAXIS,
        ClinicalTerm.CYTOKINE_RELEASE_SYNDROME,
        ClinicalTerm.FEVER,
    ]
    crs = next(
        c for c in result.overlap.candidates if c.term is ClinicalTerm.CYTOKINE_RELEASE_SYNDROME
    )
    assert crs.why.startswith("fever with hypotension")


def test_a_reaction_that_fits_only_its_own_term_is_not_flagged() -> None:
    assert (
        graded(AnaphylaxisAnswers(**NO_OUTCOME, angioedema=False, hypotension=True)).overlap is None
    )
    assert reaction_overlap(ClinicalTerm.ANAPHYLAXIS, ReactionSigns()) is None
    assert graded(PneumonitisAnswers(death=True)).overlap is None


def test_crs_with_hypotension_derives_the_sign_from_its_management() -> None:
    result = graded(
        CytokineReleaseSyndromeAnswers(
            **NO_OUTCOME,
            fever=True,
            hypotension_management=HypotensionManagement.FLUIDS,
            oxygen_fio2_percent=D("21"),
        )
    )
    assert result.overlap is not None
    crs = result.overlap.candidates[0]
    assert crs.term is ClinicalTerm.CYTOKINE_RELEASE_SYNDROME
    assert crs.why == "the term being graded"
    assert [c.term for c in result.overlap.candidates][1:] == [ClinicalTerm.FEVER]


# --- the question catalogue --------------------------------------------------------------------


@pytest.mark.parametrize("term", list(ClinicalTerm))
def test_every_answer_field_is_a_question_of_the_terms_form(term: ClinicalTerm) -> None:
    form = questions_for(term)
    assert {q.id for q in form} == {f.name for f in fields(ANSWER_MODELS[term])}
    assert len({q.id for q in form}) == len(form)
    for question in form:
        assert question.text
        if question.answer_type is AnswerType.CHOICE:
            assert question.choices
        if question.answer_type is AnswerType.DECIMAL:
            assert question.unit


def test_reaction_forms_ask_outcome_first_and_the_overlap_signs_last() -> None:
    form = [q.id for q in questions_for(ClinicalTerm.INFUSION_RELATED_REACTION)]
    assert form[:3] == ["death", "life_threatening", "urgent_intervention"]
    assert form[-7:] == [
        "began_with_infusion",
        "fever",
        "hypotension",
        "hypoxia",
        "bronchospasm",
        "urticaria",
        "angioedema",
    ]


def test_every_catalogued_question_belongs_to_some_form() -> None:
    used = {q.id for term in ClinicalTerm for q in questions_for(term)}
    assert used == set(QUESTIONS)


def test_choice_questions_offer_the_enum_values() -> None:
    assert QUESTIONS["adl_limitation"].choices == ("none", "instrumental", "self_care")
    assert QUESTIONS["exertion"].choices == (
        "none",
        "moderate_exertion",
        "minimal_exertion",
        "at_rest",
    )


def test_an_object_that_is_not_an_answer_model_is_refused() -> None:
    answers: Any = ReactionSigns()  # signs, not answers, as an untyped caller may pass
    with pytest.raises(TypeError):
        grade_clinical(answers)
