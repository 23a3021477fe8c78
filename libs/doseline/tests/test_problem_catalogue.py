"""Every problem `type` resolves: each API answers `/problems/{slug}` from its catalogue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from doseline import errors, problems
from doseline.errors import Conflict, DoselineError, NotFound, error_of
from doseline.http import build_app
from doseline.manifest import ServiceManifest
from doseline.problems import KIT, ProblemCatalogue
from doseline.settings import ServiceSettings

WARD = ProblemCatalogue("ward", includes=[KIT])
BED_TAKEN = WARD.declare(
    "bed-taken", 409, "Bed taken", "Someone is in this bed already; choose another bed."
)


@pytest.fixture
def ward_api(
    services: dict[str, ServiceManifest], settings_for: Callable[..., ServiceSettings]
) -> TestClient:
    # The catalogue is served without the database: an engine that is never connected.
    app = build_app(
        settings_for("enrollment"),
        schema=services["enrollment"].schema,
        title="ward",
        description="",
        routers=[],
        engine=create_engine("postgresql://nobody@127.0.0.1:9/nothing"),
        problem_catalogue=WARD,
    )
    return TestClient(app, raise_server_exceptions=False)


def test_a_problem_type_uri_answers_what_it_means_without_a_token(ward_api: TestClient) -> None:
    raised = Conflict("bed 4 has a patient", problem=BED_TAKEN).to_problem()
    response = ward_api.get(raised["type"])
    assert response.status_code == 200
    assert response.json() == {
        "type": "/problems/bed-taken",
        "slug": "bed-taken",
        "status": 409,
        "title": "Bed taken",
        "description": "Someone is in this bed already; choose another bed.",
    }
    assert ward_api.get("/problems/stale-etag").json()["status"] == 412


def test_the_list_is_the_kits_problems_then_the_services_own(ward_api: TestClient) -> None:
    listed = [entry["slug"] for entry in ward_api.get("/problems").json()]
    assert listed == [entry.slug for entry in KIT] + ["bed-taken"]


def test_an_unknown_problem_type_is_a_404_problem(ward_api: TestClient) -> None:
    response = ward_api.get("/problems/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-found"
    assert "GET /problems" in body["detail"]
    assert "no-such-thing" not in body["detail"]


@pytest.mark.parametrize(
    ("slug", "status", "meaning", "refusal"),
    [
        ("bed-taken", 409, "Taken again.", "already declared"),
        ("conflict", 409, "The kit's own slug.", "already declared"),
        ("bed-free", 200, "Not an error.", "not an error status"),
        ("Bed Free", 409, "Not a slug.", "lower-case words"),
        ("bed-free", 409, "no sentence", "one sentence"),
    ],
    ids=["own-slug", "kit-slug", "status-200", "not-a-slug", "no-sentence"],
)
def test_a_catalogue_refuses_a_declaration_it_could_not_serve(
    slug: str, status: int, meaning: str, refusal: str
) -> None:
    with pytest.raises(ValueError, match=refusal):
        WARD.declare(slug, status, "A title", meaning)


def _kit_classes() -> list[type[DoselineError]]:
    return [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, DoselineError)
    ]


@pytest.mark.parametrize("kind", _kit_classes(), ids=lambda kind: kind.__name__)
def test_each_error_class_answers_a_problem_of_the_kit_catalogue(
    kind: type[DoselineError],
) -> None:
    assert KIT.get(kind.default_problem.slug) is kind.default_problem
    assert errors.error_class(kind.default_problem.status) is kind


@pytest.mark.parametrize(
    ("problem", "kind"),
    [
        (BED_TAKEN, Conflict),
        (problems.NOT_FOUND, NotFound),
        (problems.NOT_READY, errors.ServiceUnavailable),
        (problems.MALFORMED_JSON, DoselineError),
    ],
    ids=lambda value: getattr(value, "slug", getattr(value, "__name__", "")),
)
def test_a_problem_chosen_at_run_time_is_raised_as_the_class_of_its_status(
    problem: problems.ProblemType, kind: type[DoselineError]
) -> None:
    error = error_of(problem, "what happened")
    assert type(error) is kind
    body: dict[str, Any] = error.to_problem()
    assert (body["type"], body["status"], body["title"]) == (
        problem.uri,
        problem.status,
        problem.title,
    )
