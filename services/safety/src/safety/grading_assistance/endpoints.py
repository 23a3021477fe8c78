"""HTTP API of grading assistance: forms, clinical grades with the overlap flag, lab grades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from doseline.auth import Principal, Role, require_roles
from doseline.errors import InvalidInput, UnsupportedMediaType
from safety.grading.clinical import ANSWER_MODELS, ClinicalTerm, grade_clinical, questions_for
from safety.grading_assistance import service
from safety.grading_assistance.schemas import (
    AgreementOut,
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
SafetyPhysician = Annotated[Principal, Depends(require_roles(Role.SAFETY_PHYSICIAN))]


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


MAX_CASE_FILE_BYTES = 5_000_000


@router.post(
    "/lab/agreement",
    summary="Validate lab grading before go-live: grade a CSV of cases against expected grades",
    description="The body is a CSV file (text/csv), one case per line: `term`, `value`, `unit`, "
    "`expected_grade` (0-5, or empty for 'not gradable'), and optionally `lln`, `uln`, "
    "`baseline`, `baseline_normal`, `facts` (`name=value; ...`, the facts of POST "
    "/v1/grading/lab), `case_id`, `note`. The answer lists, per CTCAE term, every case whose "
    "Doseline grade differs, with NCI's criterion text. Unknown columns or facts are a 422.",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {}}}},
)
async def lab_agreement(request: Request, _: SafetyPhysician) -> AgreementOut:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/csv":
        raise UnsupportedMediaType(f"send the cases as text/csv, not {media or 'no content type'}")
    raw = await request.body()
    if len(raw) > MAX_CASE_FILE_BYTES:
        raise InvalidInput.at(["body"], f"the file is larger than {MAX_CASE_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.at(["body"], "the CSV file is not UTF-8 text") from None
    return await run_in_threadpool(service.lab_agreement, text)
