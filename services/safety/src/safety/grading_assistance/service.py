"""Proposed grades from structured answers (clinical terms) or a number (lab terms).

The pure graders decide; this module parses the API's answers into their typed models, maps
MedDRA codes to the clinical terms, and shapes what is stored beside the investigator's grade.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from doseline.errors import InvalidInput
from safety.adverse_events.service import ProposedGrade
from safety.grading.agreement import CaseFileError, CaseOutcome, agreement, read_cases
from safety.grading.clinical import (
    ANSWER_MODELS,
    Answers,
    ClinicalGrade,
    ClinicalTerm,
    grade_clinical,
)
from safety.grading.lab import (
    LabContext,
    LabGrade,
    LabInputError,
    UnknownLabTermError,
    grade_lab,
)
from safety.grading_assistance.schemas import (
    AgreementOut,
    DifferingCaseOut,
    LabFactsIn,
    LabGradeIn,
    TermAgreementOut,
)

# MedDRA code of each clinically graded term, read from the graders themselves.
CLINICAL_TERM_BY_CODE: Final[dict[str, ClinicalTerm]] = {
    grade_clinical(model()).meddra_code: term for term, model in ANSWER_MODELS.items()
}


def parse_answers(term: ClinicalTerm, answers: dict[str, Any], *, loc: list[str]) -> Answers:
    model = ANSWER_MODELS[term]
    known = {field.name for field in fields(model)}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput.at(
            [*loc, unknown[0]],
            f"not a question of {term.value}; its questions are {', '.join(sorted(known))}",
        )
    try:
        parsed: Answers = TypeAdapter(model).validate_python(answers)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at([*loc, *[str(p) for p in first["loc"]]], first["msg"]) from None
    return parsed


def clinical_grade(term: ClinicalTerm, answers: dict[str, Any], *, loc: list[str]) -> ClinicalGrade:
    return grade_clinical(parse_answers(term, answers, loc=loc))


def proposal_from_answers(
    term_code: str, answers: dict[str, Any], *, loc: list[str]
) -> ProposedGrade:
    """The proposed grade of an AE report that carries the term's structured answers."""
    term = CLINICAL_TERM_BY_CODE.get(term_code)
    if term is None:
        codes = ", ".join(sorted(CLINICAL_TERM_BY_CODE))
        raise InvalidInput.at(
            loc,
            f"MedDRA {term_code} has no structured grading form; forms exist for {codes}",
        )
    graded = clinical_grade(term, answers, loc=loc)
    return ProposedGrade(
        grade=graded.grade if graded.grade is not None and graded.grade >= 1 else None,
        reason=graded.reason,
        basis={"kind": "clinical", "answers": answers, **clinical_grade_json(graded)},
    )


def clinical_grade_json(graded: ClinicalGrade) -> dict[str, Any]:
    return {
        "term": graded.term.value,
        "ctcae_term": graded.ctcae_term,
        "meddra_code": graded.meddra_code,
        "ctcae_version": graded.ctcae_version,
        "grade": graded.grade,
        "reason": graded.reason,
        "decided_by": list(graded.decided_by),
        "possible_grades": list(graded.possible_grades),
        "missing": list(graded.missing),
        "overlap": None
        if graded.overlap is None
        else {
            "message": graded.overlap.message,
            "candidates": [
                {**asdict(candidate), "term": candidate.term.value}
                for candidate in graded.overlap.candidates
            ],
        },
    }


def lab_context(facts: LabFactsIn) -> LabContext:
    """The grader's context from the facts of a request (same names)."""
    return LabContext(**{field.name: getattr(facts, field.name) for field in fields(LabContext)})


def lab_grade(body: LabGradeIn, *, loc: list[str]) -> LabGrade:
    """The grade of a measurement with its facts; inputs that are not a measurement are a 422."""
    try:
        return grade_lab(
            body.term,
            body.value,
            body.unit,
            lln=body.lln,
            uln=body.uln,
            baseline=body.baseline,
            baseline_normal=body.baseline_normal,
            context=lab_context(body),
        )
    except LabInputError as error:
        raise InvalidInput.at([*loc, error.field], error.message) from None
    except UnknownLabTermError as error:
        raise InvalidInput.at([*loc, "term"], str(error)) from None


def lab_grade_json(graded: LabGrade) -> dict[str, Any]:
    return {
        "term": graded.term.value,
        "ctcae_term": graded.ctcae_term,
        "meddra_code": graded.meddra_code,
        "ctcae_version": graded.ctcae_version,
        "grade": graded.grade,
        "reason": graded.reason,
        "matched": graded.matched,
        "assumptions": list(graded.assumptions),
        "missing": list(graded.missing),
        "possible_grades": list(graded.possible_grades),
        "clinical_criteria": [
            {"grade": item.grade, "text": item.text} for item in graded.clinical_criteria
        ],
    }


def proposal_from_lab(term_code: str, lab: LabGradeIn, *, loc: list[str]) -> ProposedGrade:
    """The proposed grade of an AE report that carries the lab value it is about."""
    graded = lab_grade(lab, loc=loc)
    if graded.meddra_code != term_code:
        raise InvalidInput.at(
            [*loc, "term"],
            f"{lab.term!r} grades CTCAE {graded.ctcae_term} (MedDRA {graded.meddra_code}), "
            f"not the reported term {term_code}",
        )
    return ProposedGrade(
        grade=graded.grade if graded.grade is not None and graded.grade >= 1 else None,
        reason=graded.reason,
        basis={
            "kind": "lab",
            "inputs": lab.model_dump(mode="json", exclude_none=True),
            **lab_grade_json(graded),
        },
    )


def _differing(outcome: CaseOutcome) -> DifferingCaseOut:
    case = outcome.case
    return DifferingCaseOut(
        case_id=case.case_id,
        row=case.row,
        value=case.value,
        unit=case.unit,
        expected_grade=case.expected_grade,
        doseline_grade=outcome.grade,
        reason=outcome.reason,
        note=case.note,
    )


def lab_agreement(text: str) -> AgreementOut:
    """Grade a CSV of cases (safety.grading.agreement) and report the differences per term."""
    try:
        cases = read_cases(text)
    except CaseFileError as error:
        raise InvalidInput.at(["body"], str(error)) from None
    report = agreement(cases)
    return AgreementOut(
        cases=report.cases,
        agreeing=report.agreeing,
        differing=report.differing,
        terms=[
            TermAgreementOut(
                term=term.term.value,
                ctcae_term=term.ctcae_term,
                measurement=term.measurement,
                criterion=list(term.criterion),
                cases=term.cases,
                differing=[_differing(outcome) for outcome in term.differing],
            )
            for term in report.terms
        ],
        unreadable=[_differing(outcome) for outcome in report.unreadable],
    )
