"""Intake answers in FHIR's terms: a response Bundle entry per entry, an error for a lone refusal.

Each entry's OperationOutcome carries what became of the resource as `details.coding` in
`urn:doseline:lab-intake-outcome` (proposed, graded, history, duplicate, conflict, skipped, …),
so that an interface engine can route on it; a report's or panel's contained results are one
issue each.
"""

from __future__ import annotations

from typing import Any, Final

from doseline.errors import DoselineError, InvalidInput, error_of
from doseline.fhir.outcomes import issue_code, operation_outcome, response_entry
from doseline.problems import KIT
from safety.ehr.schemas import LabIntakeOut
from safety.problems import (
    NOT_A_GRADED_LAB_RESULT,
    OBSERVATION_VERSION_CONFLICT,
    SUBJECT_NOT_MATCHED,
    UNUSABLE_OBSERVATION,
)

OUTCOME_SYSTEM: Final = "urn:doseline:lab-intake-outcome"
# The problem of a lone resource refused with a status: the kit's problem of any other status.
_REFUSALS: Final = {
    404: SUBJECT_NOT_MATCHED,
    409: OBSERVATION_VERSION_CONFLICT,
    422: UNUSABLE_OBSERVATION,
}


def _issue(answer: LabIntakeOut) -> dict[str, Any]:
    failed = answer.status_code >= 400
    outcome = operation_outcome(
        "error" if failed else "information",
        issue_code(answer.status_code) if failed else "informational",
        answer.detail,
        coding={"system": OUTCOME_SYSTEM, "code": answer.outcome},
    )
    issue: dict[str, Any] = outcome["issue"][0]
    return issue


def _location(answer: LabIntakeOut) -> str | None:
    if answer.proposal_id is not None:
        return f"/v1/proposed-adverse-events/{answer.proposal_id}"
    return None


def response_bundle(response_type: str, answers: list[LabIntakeOut]) -> dict[str, Any]:
    entries = []
    for answer in answers:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [_issue(answer), *(_issue(result) for result in answer.results)],
        }
        entries.append(response_entry(answer.status_code, outcome, location=_location(answer)))
    return {"resourceType": "Bundle", "type": response_type, "entry": entries}


def refusal(answer: LabIntakeOut) -> DoselineError | None:
    """A lone resource that cannot be used is a 4xx, never a 200 that says it was refused."""
    if answer.outcome == "skipped":
        return InvalidInput(answer.detail, problem=NOT_A_GRADED_LAB_RESULT)
    if (
        answer.outcome == "report"
        and answer.results
        and all(result.status_code >= 400 for result in answer.results)
    ):
        details = "; ".join(f"{r.observation_id}: {r.detail}" for r in answer.results[:5])
        return InvalidInput(
            f"no result of the report could be used: {details}"[:1000],
            problem=UNUSABLE_OBSERVATION,
        )
    if answer.status_code < 400:
        return None
    problem = (
        _REFUSALS.get(answer.status_code)
        or KIT.for_status(answer.status_code)
        or UNUSABLE_OBSERVATION
    )
    return error_of(problem, answer.detail)
