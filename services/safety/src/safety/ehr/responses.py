"""Intake answers in FHIR's terms: a response Bundle entry per entry, an error for a lone refusal.

Each entry's OperationOutcome carries what became of the resource as `details.coding` in
`urn:doseline:lab-intake-outcome` (proposed, graded, history, duplicate, conflict, skipped, …),
so that an interface engine can route on it; a report's or panel's contained results are one
issue each.
"""

from __future__ import annotations

from typing import Any, Final

from doseline.errors import DoselineError
from doseline.fhir.outcomes import issue_code, operation_outcome, response_entry
from safety.ehr.schemas import LabIntakeOut

OUTCOME_SYSTEM: Final = "urn:doseline:lab-intake-outcome"
_TITLES: Final = {
    404: ("subject-not-matched", "Subject not matched"),
    409: ("observation-version-conflict", "Another content under a received version"),
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
        return DoselineError(
            answer.detail, status=422, slug="not-a-graded-lab-result", title="Not graded"
        )
    if (
        answer.outcome == "report"
        and answer.results
        and all(result.status_code >= 400 for result in answer.results)
    ):
        details = "; ".join(f"{r.observation_id}: {r.detail}" for r in answer.results[:5])
        return DoselineError(
            f"no result of the report could be used: {details}"[:1000],
            status=422,
            slug="unusable-observation",
            title="Unusable FHIR Observation",
        )
    if answer.status_code < 400:
        return None
    slug, title = _TITLES.get(
        answer.status_code, ("unusable-observation", "Unusable FHIR Observation")
    )
    return DoselineError(answer.detail, status=answer.status_code, slug=slug, title=title)
