"""Request and response models of grading assistance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from doseline.http import RequestModel
from doseline.numbers import DecimalText
from safety.grading.lab import LAB_INPUT_TERMS


class QuestionOut(BaseModel):
    id: str
    text: str
    answer_type: str
    choices: list[str]
    unit: str | None


class ClinicalFormOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    questions: list[QuestionOut]


class ClinicalAnswersIn(RequestModel):
    answers: dict[str, Any] = Field(description="Question id → answer; leave out what is unknown")


class OverlapCandidateOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    why: str


class OverlapOut(BaseModel):
    message: str
    candidates: list[OverlapCandidateOut]


class ClinicalGradeOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    ctcae_version: str
    grade: int | None = Field(description="None while unanswered questions leave it open")
    reason: str
    decided_by: list[str]
    possible_grades: list[int]
    missing: list[str]
    overlap: OverlapOut | None = Field(
        description="The answers fit several reaction terms: the investigator chooses"
    )


def _read_by(name: str, what: str) -> str:
    return f"{what} Read by CTCAE v5.0: {', '.join(LAB_INPUT_TERMS[name])}."


class LabFactsIn(RequestModel):
    """What a CTCAE criterion reads beside the value: reference range, baseline, clinical facts.

    Leave out what is not known: a fact that could change the grade then leaves it open (or is
    settled by the worst case where the result says so); a misspelt name is a 422.
    """

    lln: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by("lln", "Lower limit of normal, in the value's unit."),
    )
    uln: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by("uln", "Upper limit of normal, in the value's unit."),
    )
    baseline: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by(
            "baseline", "The subject's pre-treatment value of the same test, in the value's unit."
        ),
    )
    baseline_normal: bool | None = Field(
        default=None,
        description=_read_by(
            "baseline_normal",
            "Whether the baseline was within normal limits (derived from baseline, LLN and ULN "
            "when left out).",
        ),
    )
    symptomatic: bool | None = Field(
        default=None,
        description=_read_by("symptomatic", "Signs or symptoms of the abnormality are present."),
    )
    on_anticoagulation: bool | None = Field(
        default=None, description=_read_by("on_anticoagulation", "On anticoagulant therapy.")
    )
    physiologic_consequences: bool | None = Field(
        default=None,
        description=_read_by("physiologic_consequences", "With physiologic consequences."),
    )
    intervention_initiated: bool | None = Field(
        default=None,
        description=_read_by("intervention_initiated", "An intervention has been initiated."),
    )
    intervention_indicated: bool | None = Field(
        default=None,
        description=_read_by(
            "intervention_indicated",
            "An intervention is indicated (the clinical arm NCI writes beside the numbers).",
        ),
    )
    hospitalization_indicated: bool | None = Field(
        default=None,
        description=_read_by(
            "hospitalization_indicated",
            "Hospitalization is indicated (the clinical arm NCI writes beside the numbers).",
        ),
    )
    at_rest: bool | None = Field(
        default=None,
        description=_read_by(
            "at_rest", "The saturation was measured at rest (false: with exercise)."
        ),
    )
    pulmonary_symptoms: bool | None = Field(
        default=None,
        description=_read_by(
            "pulmonary_symptoms", "Pulmonary symptoms are present (e.g. hypoxia or dyspnea)."
        ),
    )
    adult: bool | None = Field(
        default=None,
        description=_read_by(
            "adult",
            "The subject is an adult (adult criteria are assumed, and said so, if left out).",
        ),
    )
    previously_normal: bool | None = Field(
        default=None,
        description=_read_by(
            "previously_normal", "Blood pressure was previously within normal limits."
        ),
    )
    sustained_fever_over_one_hour: bool | None = Field(
        default=None,
        description=_read_by(
            "sustained_fever_over_one_hour",
            "A temperature of ≥38 °C was sustained for more than one hour.",
        ),
    )
    peak_temperature_celsius: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by("peak_temperature_celsius", "The highest single temperature, °C."),
    )
    hours_above_40_celsius: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by(
            "hours_above_40_celsius", "How many hours the temperature was above 40.0 °C."
        ),
    )
    collection_hours: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by("collection_hours", "The urine collection period, hours (8 or 24)."),
    )
    mi_level: Decimal | None = Field(
        default=None,
        max_digits=18,
        description=_read_by(
            "mi_level",
            "The assay manufacturer's myocardial-infarction cut-off, in the value's unit.",
        ),
    )


class LabGradeIn(LabFactsIn):
    """A measurement to grade, with the facts its criterion reads."""

    term: str = Field(
        min_length=1,
        max_length=120,
        description="Lab term, e.g. anemia or hypokalemia_ionized_calcium; a CTCAE term name or "
        "MedDRA code where it names one measurement",
    )
    value: Decimal = Field(max_digits=18)
    unit: str = Field(max_length=40, description="UCUM or laboratory spelling; '' or '1' for INR")


class CriterionTextOut(BaseModel):
    grade: int
    text: str


class LabGradeOut(BaseModel):
    term: str
    ctcae_term: str
    meddra_code: str
    ctcae_version: str
    grade: int | None = Field(description="0: meets no grade; null: cannot be graded yet")
    reason: str
    matched: str | None = Field(description="NCI's wording of the arm that gave the grade")
    assumptions: list[str]
    missing: list[str] = Field(description="Inputs that would decide or raise the grade")
    possible_grades: list[int] = Field(
        description="With a null grade: the grades the missing inputs decide between; with a "
        "grade: that grade and the higher ones a missing baseline could give"
    )
    clinical_criteria: list[CriterionTextOut] = Field(
        description="NCI wording above the grade that no number decides (for the investigator)"
    )


class DifferingCaseOut(BaseModel):
    case_id: str
    row: int = Field(description="Line of the CSV file (the header is line 1)")
    value: DecimalText
    unit: str
    expected_grade: int | None
    doseline_grade: int | None
    reason: str
    note: str


class TermAgreementOut(BaseModel):
    term: str
    ctcae_term: str
    measurement: str
    criterion: list[str] = Field(description="NCI's criterion text, grade by grade, with notes")
    cases: int
    differing: list[DifferingCaseOut]


class AgreementOut(BaseModel):
    """Where Doseline's grade differs from the expected grade of a case file, term by term."""

    cases: int
    agreeing: int
    differing: int
    terms: list[TermAgreementOut]
    unreadable: list[DifferingCaseOut] = Field(
        description="Rows whose term Doseline does not grade from numbers"
    )
