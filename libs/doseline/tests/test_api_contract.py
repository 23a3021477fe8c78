"""The OpenAPI document says which problems each operation answers; request bodies take numbers
and booleans only as JSON numbers and booleans, and either/or bodies say so with `oneOf`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field, ValidationError, model_validator

from doseline.auth import Principal, Role, require_roles
from doseline.etags import IfMatchHeader
from doseline.http import DbSession, RequestModel, build_app, exactly_one_of
from doseline.idempotency import IdempotencyKeyHeader
from doseline.manifest import ServiceManifest

Writer = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]
PROBLEM = {"$ref": "#/components/schemas/Problem"}


class DoseIn(RequestModel):
    dose_level: int = Field(ge=1, le=6)
    overlap_hours: float | None = Field(default=None, ge=0)
    symptomatic: bool = False
    given_on: date | None = None
    weight_kg: Decimal | None = None
    levels: list[int] = Field(default_factory=list)


class ProtocolChoice(RequestModel):
    model_config = ConfigDict(json_schema_extra=exactly_one_of(("text",), ("name",)))

    text: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ProtocolChoice:
        if (self.text is None) == (self.name is None):
            raise ValueError("give exactly one of text and name")
        return self


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1/doses")

    @router.post("", status_code=201)
    def create(
        body: DoseIn, session: DbSession, _: Writer, key: IdempotencyKeyHeader = None
    ) -> None:
        return None

    @router.get("")
    def listing(session: DbSession, _: Writer) -> list[str]:
        return []

    @router.patch("/{dose_id}", responses={409: {"description": "The dose was already given"}})
    def amend(dose_id: str, body: DoseIn, _: Writer, if_match: IfMatchHeader = None) -> None:
        return None

    @router.post("/choices", status_code=201)
    def choose(body: ProtocolChoice, _: Writer) -> None:
        return None

    return router


@pytest.fixture(scope="module")
def document(services: dict[str, ServiceManifest]) -> dict[str, Any]:
    enrollment = services["enrollment"]
    app = build_app(
        enrollment.settings_class(),
        schema=enrollment.schema,
        title="contract test",
        description="",
        routers=[_router()],
    )
    openapi: dict[str, Any] = app.openapi()
    return openapi


def _statuses(document: dict[str, Any], method: str, path: str) -> list[int]:
    return sorted(int(status) for status in document["paths"][path][method]["responses"])


def test_a_create_documents_every_problem_it_can_answer(document: dict[str, Any]) -> None:
    assert _statuses(document, "post", "/v1/doses") == [201, 400, 401, 403, 409, 413, 415, 422, 503]
    invalid = document["paths"]["/v1/doses"]["post"]["responses"]["422"]["description"]
    assert "Idempotency-Key was already used" in invalid


def test_a_list_without_parameters_has_no_404_nor_body_problems(document: dict[str, Any]) -> None:
    assert _statuses(document, "get", "/v1/doses") == [200, 401, 403, 503]


def test_an_update_with_if_match_documents_412_and_428_and_keeps_its_own_409(
    document: dict[str, Any],
) -> None:
    responses = document["paths"]["/v1/doses/{dose_id}"]["patch"]["responses"]
    assert sorted(int(status) for status in responses) == [
        200, 400, 401, 403, 404, 409, 412, 413, 415, 422, 428,
    ]  # fmt: skip
    assert responses["409"]["description"] == "The dose was already given"
    assert responses["409"]["content"] == {"application/problem+json": {"schema": PROBLEM}}


def test_every_problem_is_problem_json_with_the_problem_schema(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    where = f"{method} {path} {status}"
                    assert response["content"]["application/problem+json"] == {"schema": PROBLEM}, (
                        where
                    )
                    assert "application/json" not in response["content"], where
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "errors" in problem["properties"]


def test_503_carries_retry_after_and_401_the_bearer_challenge(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/doses"]["post"]["responses"]
    assert responses["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_health_documents_no_problem_and_readiness_only_its_503(document: dict[str, Any]) -> None:
    assert _statuses(document, "get", "/healthz") == [200]
    assert _statuses(document, "get", "/readyz") == [200, 503]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("overlap_hours", False),
        ("overlap_hours", "2"),
        ("dose_level", True),
        ("dose_level", "2"),
        ("dose_level", 2.5),
        ("symptomatic", 1),
        ("symptomatic", "yes"),
        ("levels", [True]),
    ],
)
def test_a_number_or_boolean_of_another_json_type_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        DoseIn.model_validate({"dose_level": 1, field: value})
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


def test_json_numbers_dates_and_decimals_are_taken_as_documented() -> None:
    dose = DoseIn.model_validate(
        {"dose_level": 2, "overlap_hours": 3, "given_on": "2026-03-01", "weight_kg": 62.5}
    )
    assert dose.overlap_hours == 3.0
    assert dose.given_on == date(2026, 3, 1)
    assert dose.weight_kg == Decimal("62.5")
    assert DoseIn.model_validate({"dose_level": 2, "weight_kg": "62.5"}).weight_kg == Decimal(
        "62.5"
    )


def test_an_either_or_body_is_a_one_of_in_the_document(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ProtocolChoice"]
    not_null, null = {"not": {"type": "null"}}, {"type": "null"}
    assert schema["oneOf"] == [
        {"required": ["text"], "properties": {"text": not_null, "name": null}},
        {"required": ["name"], "properties": {"name": not_null, "text": null}},
    ]
