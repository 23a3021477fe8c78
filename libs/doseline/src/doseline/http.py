"""The FastAPI app every service builds: errors, auth, sessions, health, readiness, metrics."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import anyio
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, SessionTransaction
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doseline import problems
from doseline.api_contract import Problem, install_contract
from doseline.auth import TokenVerifier
from doseline.broker import check_broker
from doseline.db import make_engine
from doseline.errors import (
    PROBLEM_JSON,
    DoselineError,
    InternalError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    error_of,
    problem_type,
)
from doseline.hygiene import PARSED_BODY, BodyLimits, InputHygiene
from doseline.logging import bind_correlation_id, clear_correlation_id, configure_logging
from doseline.metrics import HTTP_LATENCY, HTTP_REQUESTS
from doseline.problems import ProblemCatalogue
from doseline.schema import ServiceSchema
from doseline.settings import ServiceSettings

log = structlog.get_logger(__name__)
ErrorT = TypeVar("ErrorT", bound=Exception)

CORRELATION_HEADER = "X-Correlation-ID"
DOCS_ASSETS_URL = "/docs-assets"


STRICT_SCALARS = frozenset({"int", "float", "bool"})
# Schemas of other models (checked by their own class) and references to them are not entered.
OTHER_MODELS = frozenset({"model", "definition-ref", "definitions"})


def _strict_scalars(schema: Any) -> None:
    """Mark every int, float and bool schema reachable from `schema` strict, in place."""
    if isinstance(schema, list | tuple):
        for item in schema:
            _strict_scalars(item)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in STRICT_SCALARS:
        schema["strict"] = True
        return
    if kind in OTHER_MODELS:
        return
    for key, value in schema.items():
        if key in {"metadata", "serialization", "default", "ref"}:
            continue
        if key in {"fields", "choices"} and isinstance(value, dict):
            _strict_scalars(list(value.values()))
        elif isinstance(value, dict | list | tuple):
            _strict_scalars(value)


class RequestModel(BaseModel):
    """The base of every request body model of every Doseline API: unknown fields are refused,
    and numbers and booleans are taken only as JSON numbers and booleans.

    A misspelt field (``symtomatic`` for ``symptomatic``) is a 422 that names it, never silently
    dropped; ``tests/test_request_models.py`` walks every OpenAPI operation to keep it so.
    ``{"overlap_hours": false}`` or ``{"dose_level": "2"}`` is a 422 too, not hours 0 or level 2:
    the model's own integer, float and boolean fields validate strictly (an integer is accepted
    where a float is expected). Dates, times, enums and decimals keep their documented string
    forms, and nested models that are not request models are left as they are.
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        if schema["type"] == "model":
            _strict_scalars(schema["schema"])
        return schema


def exactly_one_of(*groups: tuple[str, ...]) -> dict[str, Any]:
    """The JSON schema of a body that takes exactly one of `groups` of fields (each field of the
    chosen group present and not null, those of the others absent or null), for a request
    model's `json_schema_extra`; the model's own validator enforces the same rule."""
    branches = []
    for chosen in groups:
        properties: dict[str, Any] = {name: {"not": {"type": "null"}} for name in chosen}
        for other in groups:
            if other is not chosen:
                properties |= {name: {"type": "null"} for name in other}
        branches.append({"required": list(chosen), "properties": properties})
    return {"oneOf": branches}


class ProblemTypeDescription(BaseModel):
    """A problem type of the catalogue: what `/problems/{slug}` in a problem's `type` means."""

    type: str
    slug: str
    status: int
    title: str
    description: str = Field(description="What the problem means and what to do about it")


def problem_response(request: Request, error: DoselineError) -> JSONResponse:
    body = error.to_problem(instance=request.url.path)
    body["correlation_id"] = request.scope.get("state", {}).get("correlation_id")
    return JSONResponse(
        jsonable_encoder(body),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _validation_problem(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": [str(part) for part in item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    malformed = any(item["type"] == "json_invalid" for item in errors)
    if malformed:
        detail = "the request body is not valid JSON: " + "; ".join(e["msg"] for e in errors)
    else:
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    problem: DoselineError = (
        DoselineError(detail, problem=problems.MALFORMED_JSON, extra={"errors": errors})
        if malformed
        else InvalidInput(detail, extra={"errors": errors})
    )
    return problem_response(request, problem)


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in (*request.app.state.api_routes, *request.app.router.routes):
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _http_problem(request: Request, error: StarletteHTTPException) -> JSONResponse:
    # Starlette's own refusals: no route (404), a route without the method (405), a body it
    # could not read (400); any other status answers the kit's problem of that status.
    problem = (
        problems.HTTP_ERROR
        if error.status_code == 400
        else problems.KIT.for_status(error.status_code) or problems.HTTP_ERROR
    )
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(request, error_of(problem, str(error.detail), headers=headers))


RETRY_AFTER_SECONDS = 5


def _database_unavailable(error: Exception) -> bool:
    """The database could not be reached, dropped the connection, or no pooled connection came
    free in time (not a bad statement)."""
    return isinstance(error, OperationalError | PoolTimeout) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def _unexpected_problem(request: Request, error: Exception) -> JSONResponse:
    if _database_unavailable(error):
        log.warning(
            "request.database_unavailable", path=request.url.path, error=type(error).__name__
        )
        return problem_response(
            request,
            ServiceUnavailable(
                "the database is unavailable; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ),
        )
    if isinstance(error, DataError):
        # A value the column cannot hold that validation let through: the client's to fix, but a
        # gap in validation too, so it is logged (without the statement's parameters).
        log.warning("request.value_out_of_range", path=request.url.path, error=type(error).__name__)
        return problem_response(
            request,
            InvalidInput(
                "a value in the request is out of the range that can be stored; check numbers "
                "and text lengths"
            ),
        )
    # The exception's type and where it was raised, never its message: messages (a driver's
    # error, a formatted ValueError) can quote request content.
    log.error(
        "request.unhandled_error",
        path=request.url.path,
        error=type(error).__name__,
        frames="".join(traceback.format_tb(error.__traceback__)),
    )
    return problem_response(
        request,
        InternalError(
            "an unexpected error occurred; it has been logged with the correlation id below"
        ),
    )


class _RequestContext:
    """ASGI middleware: correlation id in and out, access log, Prometheus metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.lower().encode(), b"").decode("latin-1")
        correlation = bind_correlation_id(incoming[:64] if incoming.isprintable() else None)
        scope.setdefault("state", {})["correlation_id"] = correlation
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (CORRELATION_HEADER.encode(), correlation.encode())
                )
            await send(message)

        started_response = False

        async def send_tracking(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as error:
            # A bug: answer with a problem (and the correlation id) here, inside this
            # middleware, rather than in Starlette's outermost error middleware.
            if started_response:
                raise
            response = _unexpected_problem(Request(scope), error)
            await response(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(self.service, template, method, str(status)).inc()
            HTTP_LATENCY.labels(self.service, template, method).observe(elapsed)
            if template not in {"/healthz", "/readyz", "/metrics"}:
                log.info(
                    "http.request",
                    method=method,
                    route=template,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )
            clear_correlation_id()


async def _session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    Opening the session touches no connection (the first statement checks one out), so it
    happens on the event loop; only the commit or rollback, which talk to the database, go to
    a worker thread. A sync generator would cost a thread hand-off on entry too, and under load
    each hand-off waits for the interpreter lock. The end runs shielded: a request cancelled
    while its transaction ends still returns its connection to the pool."""
    session: Session = request.app.state.sessions()
    transaction = session.begin()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _outside_the_pool(session.close)  # rolls the transaction back
        raise
    with anyio.CancelScope(shield=True):
        await _outside_the_pool(lambda: _commit(session, transaction))


async def _outside_the_pool(end: Callable[[], None]) -> None:
    """Run a transaction's end in a thread that does not wait for the request thread pool.

    Requests blocked on a row lock hold the pool's threads; the request holding that lock must
    still reach its commit, or every thread waits on a lock whose owner waits for a thread (the
    same reason FastAPI runs a sync dependency's exit under a limiter of its own)."""
    await anyio.to_thread.run_sync(end, limiter=anyio.CapacityLimiter(1))


def _commit(session: Session, transaction: SessionTransaction) -> None:
    try:
        transaction.commit()
    finally:
        session.close()


DbSession = Annotated[Session, Depends(_session, scope="function")]


def _on_error(
    app: FastAPI, kind: type[ErrorT], render: Callable[[Request, ErrorT], Response]
) -> None:
    """Answer every `kind` raised by an endpoint with `render` (Starlette types a handler as
    taking any exception; it hands each handler only the class it was registered for)."""

    def handler(request: Request, error: Exception) -> Response:
        assert isinstance(error, kind)
        return render(request, error)

    app.add_exception_handler(kind, handler)


def build_app(
    settings: ServiceSettings,
    *,
    schema: ServiceSchema,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    engine: Engine | None = None,
    version: str = "0.1.0",
    router_dependencies: Sequence[Any] = (),
    problem_catalogue: ProblemCatalogue = problems.KIT,
) -> FastAPI:
    """A service's app: its routers plus everything every Doseline API has in common.

    `router_dependencies` run before every endpoint of `routers` (the site-scope guard);
    `problem_catalogue` is every problem type the service answers, served at `/problems`."""
    configure_logging(
        service=settings.service_name, level=settings.log_level, json=settings.log_json
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if engine is None:
            app.state.engine.dispose()

    # Swagger UI and ReDoc with their scripts served by the service itself (no CDN): /docs works
    # on a ward's network with no internet, and the assets match the installed package.
    app = FastAPIOffline(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
        static_url=DOCS_ASSETS_URL,
    )
    own_engine = engine or make_engine(settings.database_url, application_name=title)
    app.state.settings = settings
    app.state.schema = schema
    app.state.engine = own_engine
    app.state.sessions = schema.session_factory(own_engine, audit_keys=settings.audit_keyring)
    app.state.token_verifier = TokenVerifier(settings)

    _on_error(app, DoselineError, problem_response)
    _on_error(app, RequestValidationError, _validation_problem)
    _on_error(app, StarletteHTTPException, _http_problem)
    # Every operation of the service's routers, with its full path (FastAPI keeps included
    # routers as one opaque route each).
    app.state.api_routes = [
        route for router in routers for route in router.routes if isinstance(route, APIRoute)
    ]
    app.add_middleware(
        InputHygiene,
        limits=BodyLimits(typed=settings.max_json_body_bytes, raw=settings.max_raw_json_body_bytes),
        routes=app.state.api_routes,
        render=lambda scope, error: problem_response(Request(scope), error),
    )
    app.add_middleware(_RequestContext, service=settings.service_name)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database and the broker answer",
        responses={503: {"description": "The database or the broker does not answer"}},
    )
    def readyz() -> dict[str, Any]:
        failures: dict[str, str] = {}
        try:
            with own_engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            failures["database"] = type(error).__name__
        try:
            check_broker(settings.broker_url)
        except Exception as error:
            failures["broker"] = type(error).__name__
        if failures:
            raise ServiceUnavailable(
                "not ready: " + ", ".join(f"{part} unavailable" for part in failures),
                problem=problems.NOT_READY,
                extra={"checks": failures},
            )
        return {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}

    @app.get(
        "/problems",
        tags=["problems"],
        summary="Every problem type this API answers (docs/problems.md)",
        response_model=list[ProblemTypeDescription],
    )
    def problem_types() -> list[dict[str, Any]]:
        return [entry.describe() for entry in problem_catalogue]

    @app.get(
        "/problems/{slug}",
        tags=["problems"],
        summary="What a problem `type` means and what to do about it",
        response_model=ProblemTypeDescription,
    )
    def problem_type_description(slug: str) -> dict[str, Any]:
        entry = problem_catalogue.get(slug)
        if entry is None:
            raise NotFound("this API has no problem type of that name; GET /problems lists them")
        return entry.describe()

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router, dependencies=list(router_dependencies))
    install_contract(
        app,
        routes=app.state.api_routes,
        shared_dependencies=router_dependencies,
        database_dependencies=[_session],
    )
    return app


async def json_body(request: Request, *, media_types: Sequence[str], max_bytes: int) -> Any:
    """The body of a request whose schema FastAPI does not know (a FHIR resource or Bundle), parsed
    as JSON after its media type (415) and size (413) are checked; malformed JSON is a 400."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in media_types:
        raise UnsupportedMediaType(
            f"send the body as {' or '.join(media_types)}, not {media or 'no content type'}"
        )
    raw = await request.body()
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the request body exceeds {max_bytes} bytes; split it")
    parsed = request.scope.get("state", {}).get(PARSED_BODY)
    if parsed is not None and parsed[0] == raw:
        return parsed[1]
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DoselineError(
            f"the request body is not valid JSON: {error}", problem=problems.MALFORMED_JSON
        ) from None


__all__ = [
    "DbSession",
    "Problem",
    "RequestModel",
    "build_app",
    "exactly_one_of",
    "json_body",
    "problem_type",
]
