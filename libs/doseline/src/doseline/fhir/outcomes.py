"""Answers in FHIR's own terms: an OperationOutcome per resource, a response Bundle per Bundle."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

from doseline.errors import DoselineError

FHIR_JSON: Final = "application/fhir+json"
# FHIR issue-type codes (http://hl7.org/fhir/issue-type) for the HTTP statuses answered here.
_ISSUE_CODES: Final = {
    400: "structure",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
}


# The OpenAPI description of an OperationOutcome answer.
OPERATION_OUTCOME_CONTENT: Final = {
    FHIR_JSON: {
        "schema": {
            "type": "object",
            "required": ["resourceType", "issue"],
            "properties": {
                "resourceType": {"const": "OperationOutcome"},
                "issue": {"type": "array", "minItems": 1, "items": {"type": "object"}},
            },
        }
    }
}


def fhir_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors a FHIR door answers a FHIR client as OperationOutcomes
    (those raised while the body is read and used; the token's stay problem details, which the
    API contract adds beside them)."""
    return {status: {"content": OPERATION_OUTCOME_CONTENT} for status in statuses}


def wants_fhir(accept: str | None, content_type: str | None) -> bool:
    """A client that sends or accepts application/fhir+json is answered in FHIR's terms."""
    return any(FHIR_JSON in (header or "").lower() for header in (accept, content_type))


def operation_outcome(
    severity: str,
    code: str,
    diagnostics: str,
    *,
    coding: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One issue; `coding` (system, code, display) says what became of the resource, in the
    receiving service's own terms, for a machine to read."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if coding is not None:
        issue["details"] = {"coding": [coding]}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def issue_code(status: int) -> str:
    return _ISSUE_CODES.get(status, "processing")


def of_error(error: DoselineError) -> dict[str, Any]:
    outcome = operation_outcome("error", issue_code(error.status), error.detail)
    outcome["issue"][0]["details"] = {"text": error.title, "coding": [{"code": error.slug}]}
    return outcome


def status_line(status: int) -> str:
    """'201 Created', as Bundle.entry.response.status reads."""
    return f"{status} {HTTPStatus(status).phrase}"


def response_entry(
    status: int, outcome: dict[str, Any], *, location: str | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"status": status_line(status), "outcome": outcome}
    if location is not None:
        response["location"] = location
    return {"response": response}
