"""Every API speaks the same HTTP: tokens and roles, problem+json, idempotent creates, ETags."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, text

from doseline import audit
from doseline.auth import Principal, Role, TokenVerifier, mint_token, require_roles
from doseline.errors import PreconditionFailed, PreconditionRequired
from doseline.etags import check_if_match, etag
from doseline.http import DbSession, build_app
from doseline.idempotency import IdempotencyKeyHeader, StoredResponse, idempotent_response
from doseline.manifest import ServiceManifest
from doseline.settings import ServiceSettings
from doseline.testing.plugin import TokenFactory


class NoteIn(BaseModel):
    text: str


Writer = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]


def _kit_router() -> APIRouter:
    router = APIRouter(prefix="/v1/notes")

    @router.post("", status_code=201)
    def create_note(
        body: NoteIn,
        request: Request,
        session: DbSession,
        principal: Writer,
        key: IdempotencyKeyHeader = None,
    ) -> JSONResponse:
        def create() -> StoredResponse:
            audit.record(
                session,
                actor=principal.audit_name,
                action="note.create",
                entity_type="note",
                entity_id="n",
                after=body,
            )
            return StoredResponse(201, {"note_id": uuid.uuid4().hex, "text": body.text})

        return idempotent_response(
            session, request, principal=principal.subject, key=key, payload=body, create=create
        )

    @router.get("/boom")
    def boom(_: Writer) -> dict[str, str]:
        raise RuntimeError("a bug")

    return router


@pytest.fixture
def kit_app(
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Iterator[TestClient]:
    app: FastAPI = build_app(
        settings_for("enrollment"),
        schema=services["enrollment"].schema,
        title="kit test",
        description="",
        routers=[_kit_router()],
        engine=clean_db,
    )
    yield TestClient(app, raise_server_exceptions=False)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["detail"]
    return body


def test_health_needs_no_token(kit_app: TestClient) -> None:
    assert kit_app.get("/healthz").status_code == 200


def test_readiness_checks_database_and_broker(kit_app: TestClient) -> None:
    response = kit_app.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readiness_is_503_when_the_broker_is_down(
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> None:
    app = build_app(
        settings_for("enrollment", broker_url="redis://127.0.0.1:1/0"),
        schema=services["enrollment"].schema,
        title="t",
        description="",
        routers=[],
        engine=clean_db,
    )
    body = _problem(TestClient(app).get("/readyz"), 503)
    assert body["checks"] == {"broker": "ConnectionError"}


def test_a_request_without_a_token_gets_401(kit_app: TestClient) -> None:
    response = kit_app.post("/v1/notes", json={"text": "x"})
    _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_role_gets_403(kit_app: TestClient, auth: TokenFactory) -> None:
    body = _problem(kit_app.post("/v1/notes", json={"text": "x"}, headers=auth(Role.MONITOR)), 403)
    assert body["required_roles"] == ["coordinator"]


def test_an_expired_token_gets_401(kit_app: TestClient, auth: TokenFactory) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    headers = auth(Role.COORDINATOR, now=long_ago, lifetime=timedelta(hours=1))
    body = _problem(kit_app.post("/v1/notes", json={"text": "x"}, headers=headers), 401)
    assert "expired" in body["detail"]


def test_a_token_living_longer_than_the_maximum_gets_401(
    kit_app: TestClient, auth: TokenFactory
) -> None:
    decade = auth(Role.COORDINATOR, lifetime=timedelta(days=3650))
    body = _problem(kit_app.post("/v1/notes", json={"text": "x"}, headers=decade), 401)
    assert "12 hours" in body["detail"]
    twelve = auth(Role.COORDINATOR, lifetime=timedelta(hours=12))
    assert kit_app.post("/v1/notes", json={"text": "x"}, headers=twelve).status_code == 201


def test_a_token_issued_in_the_future_gets_401(kit_app: TestClient, auth: TokenFactory) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    body = _problem(
        kit_app.post("/v1/notes", json={"text": "x"}, headers=auth(Role.COORDINATOR, now=tomorrow)),
        401,
    )
    assert "not yet valid" in body["detail"]


@pytest.mark.parametrize(
    "token_kwargs",
    [
        {"secret": "another-key-entirely-another-key-entirely"},
        {"issuer": "someone-else"},
        {"audience": "another-api"},
    ],
    ids=["wrong-signature", "wrong-issuer", "wrong-audience"],
)
def test_a_token_not_made_for_us_gets_401(
    kit_app: TestClient, token_kwargs: dict[str, Any]
) -> None:
    token = mint_token(subject="x", roles=[Role.COORDINATOR], **token_kwargs)
    response = kit_app.post(
        "/v1/notes", json={"text": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    _problem(response, 401)


def test_a_garbage_token_gets_401(kit_app: TestClient) -> None:
    _problem(
        kit_app.post("/v1/notes", json={"text": "x"}, headers={"Authorization": "Bearer abc"}),
        401,
    )


def test_malformed_json_gets_a_400_problem(kit_app: TestClient, auth: TokenFactory) -> None:
    body = _problem(
        kit_app.post(
            "/v1/notes",
            content=b'{"text": ',
            headers={**auth(Role.COORDINATOR), "Content-Type": "application/json"},
        ),
        400,
    )
    assert body["type"] == "/problems/malformed-json"


def test_an_invalid_body_gets_a_422_problem_naming_the_field(
    kit_app: TestClient, auth: TokenFactory
) -> None:
    body = _problem(
        kit_app.post("/v1/notes", json={"txt": "x"}, headers=auth(Role.COORDINATOR)), 422
    )
    assert body["errors"][0]["loc"] == ["body", "text"]


def test_an_unknown_path_gets_a_404_problem(kit_app: TestClient) -> None:
    _problem(kit_app.get("/v1/nowhere"), 404)


def test_a_bug_is_a_500_problem_with_the_correlation_id(
    kit_app: TestClient, auth: TokenFactory
) -> None:
    response = kit_app.get(
        "/v1/notes/boom", headers={**auth(Role.COORDINATOR), "X-Correlation-ID": "trace-123"}
    )
    body = _problem(response, 500)
    assert body["correlation_id"] == "trace-123"
    assert response.headers["x-correlation-id"] == "trace-123"
    assert "a bug" not in body["detail"]  # internals are logged, not shown


def test_no_free_database_connection_is_a_503_to_retry_not_a_500(
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
    auth: TokenFactory,
) -> None:
    one_connection = create_engine(
        clean_db.url.render_as_string(hide_password=False),
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.2,
    )
    app = build_app(
        settings_for("enrollment"),
        schema=services["enrollment"].schema,
        title="kit test",
        description="",
        routers=[_kit_router()],
        engine=one_connection,
    )
    client = TestClient(app, raise_server_exceptions=False)
    try:
        with one_connection.connect():  # the pool's only connection, held elsewhere
            response = client.post(
                "/v1/notes", json={"text": "hello"}, headers=auth(Role.COORDINATOR)
            )
        body = _problem(response, 503)
        assert response.headers["retry-after"]
        assert "retry" in body["detail"]
    finally:
        one_connection.dispose()


def test_a_retried_create_with_the_same_key_returns_the_first_result(
    kit_app: TestClient, auth: TokenFactory, clean_db: Engine
) -> None:
    headers = {**auth(Role.COORDINATOR, subject="nurse-1"), "Idempotency-Key": "k-1"}
    first = kit_app.post("/v1/notes", json={"text": "x"}, headers=headers)
    second = kit_app.post("/v1/notes", json={"text": "x"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    with clean_db.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM enrollment.audit_log")) == 1


def test_a_key_reused_for_a_different_request_is_refused(
    kit_app: TestClient, auth: TokenFactory
) -> None:
    headers = {**auth(Role.COORDINATOR), "Idempotency-Key": "k-2"}
    kit_app.post("/v1/notes", json={"text": "x"}, headers=headers)
    body = _problem(kit_app.post("/v1/notes", json={"text": "y"}, headers=headers), 422)
    assert body["type"] == "/problems/idempotency-key-reused"


def test_keys_belong_to_their_caller(kit_app: TestClient, auth: TokenFactory) -> None:
    one = kit_app.post(
        "/v1/notes",
        json={"text": "x"},
        headers={**auth(Role.COORDINATOR, subject="a"), "Idempotency-Key": "same"},
    )
    two = kit_app.post(
        "/v1/notes",
        json={"text": "x"},
        headers={**auth(Role.COORDINATOR, subject="b"), "Idempotency-Key": "same"},
    )
    assert one.json()["note_id"] != two.json()["note_id"]


def test_if_match_is_required_and_must_be_current() -> None:
    with pytest.raises(PreconditionRequired):
        check_if_match(None, current_version=3)
    with pytest.raises(PreconditionFailed):
        check_if_match(etag(2), current_version=3)
    check_if_match(etag(3), current_version=3)
    check_if_match(f'W/{etag(3)}, "other"', current_version=3)


class _Jwks(BaseHTTPRequestHandler):
    document: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: object) -> None:
        return


def test_production_tokens_are_rs256_checked_against_the_jwks() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    _Jwks.document = json.dumps({"keys": [public]}).encode()
    server = HTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = ServiceSettings(
            environment="production",
            identifier_hash_key="a-production-key-from-the-vault",
            audit_keys=json.dumps({"2027-01": "a-production-audit-key-from-the-vault"}),
            audit_key_id="2027-01",
            jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json",
            jwt_issuer="https://idp.hospital.example",
        )
        verifier = TokenVerifier(settings)
        now = datetime.now(UTC)
        claims = {
            "sub": "dr-li",
            "name": "Dr Li",
            "roles": ["investigator", "not-a-doseline-role"],
            "sites": ["WCH"],
            "iss": "https://idp.hospital.example",
            "aud": "doseline",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "auth_time": int(now.timestamp()),
        }
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        principal = verifier.verify(good)
        assert principal.roles == {Role.INVESTIGATOR}
        assert principal.can_access_site("WCH")
        assert not principal.can_access_site("PUMCH")
        # The development shared secret is never accepted once a JWKS is configured.
        from doseline.errors import Unauthorized

        with pytest.raises(Unauthorized):
            verifier.verify(
                mint_token(subject="x", roles=[Role.ADMIN], issuer="https://idp.hospital.example")
            )
    finally:
        server.shutdown()


def test_production_refuses_to_start_without_a_jwks_url() -> None:
    with pytest.raises(ValueError, match="JWKS_URL"):
        ServiceSettings(environment="production")
