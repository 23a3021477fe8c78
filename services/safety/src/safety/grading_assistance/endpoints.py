"""HTTP API of grading assistance: forms, clinical grades with the overlap flag, lab grades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from doseline.auth import Principal, Role, require_roles
from safety.grading.clinical import ANSWER_MODELS, ClinicalTerm, grade_clinical, questions_for
from safety.grading_assistance import service
from safety.grading_assistance.schemas import (
    ClinicalAnswersIn,
    ClinicalFormOut,
    ClinicalGradeOut,
    LabGradeIn,
    LabGradeOut,
    QuestionOut,
)

router = APIRouter(prefix="/v1/grading", tags=["grading"])
Grader = Annotated[
    Principal,
    Depends(require_roles(Role.INVESTIGATOR, Role.COORDINATOR, Role.SAFETY_PHYSICIAN)),
]


def _form(term: ClinicalTerm) -> ClinicalFormOut:
    empty = grade_clinical(ANSWER_MODELS[term]())
    return ClinicalFormOut(
        term=term.value,
        ctcae_term=empty.ctcae_term,
        meddra_code=empty.meddra_code,
        questions=[
            QuestionOut(
                id=q.id,
                text=q.text,
                answer_type=q.answer_type.value,
                choices=list(q.choices),
                unit=q.unit,
            )
            for q in questions_for(term)
        ],
    )


@router.get("/clinical", summary="The structured grading forms: terms and their questions")
def clinical_forms(_: Grader) -> list[ClinicalFormOut]:
    return [_form(term) for term in ClinicalTerm]


@router.post(
    "/clinical/{term}",
    summary="Propose a grade from the answers; overlapping reaction terms are flagged",
)
def grade_clinical_term(term: ClinicalTerm, body: ClinicalAnswersIn, _: Grader) -> ClinicalGradeOut:
    graded = service.clinical_grade(term, body.answers, loc=["body", "answers"])
    return ClinicalGradeOut.model_validate(service.clinical_grade_json(graded))


@router.post(
    "/lab",
    summary="Grade a lab value (CTCAE v5.0) with the clinical facts its criterion reads",
    description="Every fact a CTCAE criterion reads can be given (see the request schema: each "
    "names the terms that read it). A fact left out that could change the grade leaves it open "
    "(`grade` null, `possible_grades` and `missing` say what would decide it) or is settled by "
    "the worst case, named in `assumptions`. Where the value alone decides a grade that a "
    "missing baseline could only raise, that grade is given and `possible_grades` lists the "
    "higher ones. Inputs that are not a measurement are a 422 naming the field.",
)
def grade_lab_value(body: LabGradeIn, _: Grader) -> LabGradeOut:
    graded = service.lab_grade(body, loc=["body"])
    return LabGradeOut.model_validate(service.lab_grade_json(graded))
