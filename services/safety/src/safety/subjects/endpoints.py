"""HTTP API of subjects as safety knows them: read, and record the baseline conditions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import InvalidInput
from doseline.etags import IfMatchHeader, check_if_match, etag
from doseline.http import DbSession
from safety.adverse_events import service as adverse_events
from safety.catalogue import service as catalogue
from safety.grading.validation import require_defined_grade
from safety.subjects import service
from safety.subjects.schemas import BaselineIn, SubjectOut

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Editor = Annotated[Principal, Depends(require_roles(Role.INVESTIGATOR, Role.COORDINATOR))]


@router.get("/{subject_id}", summary="A subject: enrolment facts, DLT window and baseline")
def get_subject(subject_id: str, response: Response, session: DbSession, _: Reader) -> SubjectOut:
    row = service.require_subject(session, subject_id)
    response.headers["ETag"] = etag(row.version)
    return SubjectOut.of(row)


@router.put(
    "/{subject_id}/baseline",
    summary="Record the baseline: pneumonitis grade, oxygen use, other pre-existing conditions",
)
def put_baseline(
    subject_id: str,
    body: BaselineIn,
    response: Response,
    session: DbSession,
    principal: Editor,
    if_match: IfMatchHeader = None,
) -> SubjectOut:
    row = service.require_known_subject(session, subject_id, lock=True)
    check_if_match(if_match, current_version=row.version)
    already = row.baseline_pneumonitis_grade is not None or bool(row.baseline_conditions)
    if already and body.reason is None:
        raise InvalidInput.at(
            ["body", "reason"], "the baseline was already recorded; give the reason for change"
        )
    conditions: list[service.BaselineCondition] = []
    seen: set[str] = set()
    for index, condition in enumerate(body.conditions):
        term = catalogue.require_term(session, condition.ctcae_version, condition.term_code)
        if condition.term_code in seen:
            raise InvalidInput.at(
                ["body", "conditions", index, "term_code"], "this term is listed twice"
            )
        seen.add(condition.term_code)
        require_defined_grade(
            catalogue.as_term(term), condition.grade, ctcae_version=condition.ctcae_version
        )
        conditions.append(
            service.BaselineCondition(
                condition.ctcae_version, condition.term_code, term.name, condition.grade
            )
        )
    service.set_baseline(
        session,
        row,
        pneumonitis_grade=body.pneumonitis_grade,
        oxygen_use=body.oxygen_use,
        conditions=conditions,
        actor=principal.audit_name,
        reason=body.reason,
    )
    # Worsening is measured from the baseline: a new baseline re-applies the DLT rules.
    adverse_events.reassess_subject(session, row, actor=principal.audit_name)
    response.headers["ETag"] = etag(row.version)
    return SubjectOut.of(row)
