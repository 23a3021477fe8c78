"""The OpenAPI contract of every Doseline API: the problems each operation can answer.

The statuses are derived from what an operation takes, in one place, so that no endpoint has to
list them and none can forget one: a new endpoint is documented the day it is written.

| the operation | may answer |
|---|---|
| needs a bearer token | 401 (no, expired or invalid token), 403 (roles or sites) |
| takes a body | 400 (malformed JSON), 413 (too large), 415 (not JSON) |
| takes a body or parameters | 422 (not valid; `errors` names the fields) |
| has a parameter in its path | 404 (no such thing, or not in your sites) |
| writes (POST, PUT, PATCH, DELETE) | 409 (conflicts with the current state) |
| takes If-Match | 412 (stale ETag), 428 (If-Match missing) |
| takes Idempotency-Key | 422 also when the key was used for a different request |
| reads or writes the database | 503 with Retry-After (the database is unavailable) |

Every 4xx and 5xx response, derived or declared by an endpoint, carries the `Problem` schema in
`application/problem+json`; what an endpoint declares itself (a description, another media type)
is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from doseline.errors import PROBLEM_JSON

PROBLEM_SCHEMA_NAME = "Problem"
PROBLEM_SCHEMA_REF = f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
IF_MATCH = "if-match"
IDEMPOTENCY_KEY = "idempotency-key"
# What FastAPI writes for a response an endpoint declared without a description.
FASTAPI_DEFAULT_DESCRIPTION = "Additional Response"
FASTAPI_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of every endpoint is returned.

    Problems may carry further members (`current_etag`, `required_roles`, `checks`...)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ProblemStatus:
    """A status an operation can answer, what it means there, and the headers it comes with."""

    description: str
    headers: Mapping[str, dict[str, Any]] = field(default_factory=dict)


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'The bearer challenge: `Bearer realm="doseline"`',
        "schema": {"type": "string"},
    }
}


def problem_statuses(
    path: str, method: str, operation: Mapping[str, Any], *, uses_database: bool
) -> dict[int, ProblemStatus]:
    """Each problem status the operation can answer, from its OpenAPI description."""
    parameters = operation.get("parameters", [])
    headers = {
        str(parameter["name"]).lower() for parameter in parameters if parameter["in"] == "header"
    }
    has_body = "requestBody" in operation
    statuses: dict[int, ProblemStatus] = {}
    if operation.get("security"):
        statuses[401] = ProblemStatus("Missing, expired or invalid token", WWW_AUTHENTICATE)
        statuses[403] = ProblemStatus("Your roles or sites do not allow this")
    if has_body:
        statuses[400] = ProblemStatus("The body is not valid JSON")
        statuses[413] = ProblemStatus("The body is larger than this operation accepts")
        statuses[415] = ProblemStatus("The body is not in a media type this operation accepts")
    if has_body or parameters:
        invalid = "The request is not valid; `errors` says which fields to fix"
        if IDEMPOTENCY_KEY in headers:
            invalid += "; or the Idempotency-Key was already used for a different request"
        statuses[422] = ProblemStatus(invalid)
    if "{" in path:
        statuses[404] = ProblemStatus("Not found, or not in the sites your token names")
    if method.lower() in WRITE_METHODS:
        statuses[409] = ProblemStatus("The request conflicts with the current state")
    if IF_MATCH in headers:
        statuses[412] = ProblemStatus("The resource changed since you read it (stale ETag)")
        statuses[428] = ProblemStatus("Send If-Match with the ETag from your last read")
    if uses_database:
        statuses[503] = ProblemStatus("The database is unavailable; retry later", RETRY_AFTER)
    return dict(sorted(statuses.items()))


def _with_problem(response: dict[str, Any]) -> None:
    """Give a declared error response the problem media type and schema, keeping what it has."""
    content = response.setdefault("content", {})
    entry = content.setdefault(PROBLEM_JSON, {})
    entry.setdefault("schema", {"$ref": PROBLEM_SCHEMA_REF})
    # FastAPI writes `model=Problem` as application/json; a problem is never sent so.
    if content.get("application/json", {}).get("schema") == {"$ref": PROBLEM_SCHEMA_REF}:
        del content["application/json"]


def document_problems(
    document: dict[str, Any], *, uses_database: Callable[[str, str], bool]
) -> dict[str, Any]:
    """`document` with every operation's problem responses (see the module docstring)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        PROBLEM_SCHEMA_NAME, Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            # FastAPI's own 422 describes its error format, which Doseline never sends.
            if FASTAPI_VALIDATION_ERROR in str(responses.get("422", {})):
                del responses["422"]
            derived = problem_statuses(
                path, method, operation, uses_database=uses_database(path, method)
            )
            for status, meaning in derived.items():
                response = responses.setdefault(str(status), {"description": meaning.description})
                if response.get("description") in {
                    FASTAPI_DEFAULT_DESCRIPTION,
                    HTTPStatus(status).phrase,
                }:
                    response["description"] = meaning.description
                for name, header in meaning.headers.items():
                    response.setdefault("headers", {}).setdefault(name, header)
            for status, response in responses.items():
                if status[:1] in {"4", "5"}:
                    _with_problem(response)
            operation["responses"] = dict(sorted(responses.items()))
    # ... nor its schemas, once nothing refers to them.
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in str(document):
            schemas.pop(name, None)
    return document


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def depends_on(dependant: Dependant, calls: Iterable[Callable[..., Any]]) -> bool:
    """Whether `dependant` runs any of `calls` as a dependency (directly or through another)."""
    wanted = set(calls)
    return any(dependency.call in wanted for dependency in _dependencies(dependant))


def install_contract(
    app: FastAPI,
    *,
    routes: Sequence[APIRoute],
    shared_dependencies: Sequence[params.Depends] = (),
    database_dependencies: Iterable[Callable[..., Any]],
) -> None:
    """Make `app.openapi()` document the problems of every operation.

    `routes` are the service's operations and `shared_dependencies` what runs before each of
    them; an operation uses the database when it or a shared dependency depends on one of
    `database_dependencies` (the request's session)."""
    calls = tuple(database_dependencies)
    shared = [
        get_dependant(path="", call=dependency.dependency)
        for dependency in shared_dependencies
        if dependency.dependency is not None
    ]
    everywhere = any(depends_on(dependant, calls) for dependant in shared)
    with_database = {
        (route.path_format, method.lower())
        for route in routes
        if everywhere or depends_on(route.dependant, calls)
        for method in route.methods or ()
    }
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        # FastAPI regenerates the document when routes change; each new one is completed once.
        document = generate()
        if not documented or documented[0] is not document:
            document_problems(
                document, uses_database=lambda path, method: (path, method) in with_database
            )
            documented[:] = [document]
        return document

    # FastAPI's own way to complete its document is to replace `app.openapi` ("Extending
    # OpenAPI" in its docs); FastAPIOffline builds the app, so no subclass can override it.
    app.openapi = openapi  # type: ignore[method-assign]


__all__ = [
    "Problem",
    "ProblemStatus",
    "depends_on",
    "document_problems",
    "install_contract",
    "problem_statuses",
]
