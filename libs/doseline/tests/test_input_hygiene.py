"""No request can make a service answer 500: input hygiene in the kit, for every service."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine, text

from doseline import hygiene
from doseline.auth import Principal, Role, require_roles
from doseline.db import make_engine
from doseline.errors import InvalidInput
from doseline.http import DbSession, build_app, json_body
from doseline.hygiene import check_json, control_character_in
from doseline.manifest import ServiceManifest
from doseline.pagination import decode_cursor, encode_cursor
from doseline.settings import ServiceSettings
from doseline.testing.plugin import TokenFactory

SECRET = "Patient Zhang reported night sweats"


class NoteIn(BaseModel):
    text: str
    count: int = 0


Writer = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1/notes")

    @router.post("", status_code=201)
    def create(body: NoteIn, _: Writer) -> dict[str, Any]:
        return {"text": body.text, "count": body.count}

    @router.get("")
    def search(_: Writer, q: str = "") -> dict[str, str]:
        return {"q": q}

    @router.post("/raw")
    async def raw(request: Request, _: Writer) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @router.post("/document")
    async def document(request: Request, _: Writer) -> dict[str, Any]:
        read = await json_body(request, media_types=["application/json"], max_bytes=64 * 1024)
        handed = request.scope.get("state", {}).get(hygiene.PARSED_BODY)
        return {"read": read, "parsed_once": handed is not None and handed[1] is read}

    @router.post("/bug")
    def bug(body: NoteIn, _: Writer) -> None:
        raise ValueError(f"cannot file {body.text}")

    @router.get("/stored")
    def stored(session: DbSession, _: Writer) -> dict[str, int]:
        return {"one": session.execute(text("SELECT 1")).scalar_one()}

    @router.get("/{note_id}")
    def read(note_id: str, _: Writer) -> dict[str, str]:
        return {"id": note_id}

    return router


def _app(settings: ServiceSettings, manifest: ServiceManifest, engine: Engine) -> TestClient:
    app: FastAPI = build_app(
        settings,
        schema=manifest.schema,
        title="hygiene test",
        description="",
        routers=[_router()],
        engine=engine,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(
    clean_db: Engine,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Iterator[TestClient]:
    settings = settings_for(
        "enrollment", max_json_body_bytes=4096, max_raw_json_body_bytes=64 * 1024
    )
    yield _app(settings, services["enrollment"], clean_db)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return body


def _post(client: TestClient, auth: TokenFactory, path: str, raw: str, **headers: str) -> Any:
    return client.post(
        path,
        content=raw.encode(),
        headers={"content-type": "application/json", **auth(Role.COORDINATOR), **headers},
    )


def test_a_nul_in_a_body_string_is_a_422_naming_the_field(
    client: TestClient, auth: TokenFactory
) -> None:
    body = _problem(_post(client, auth, "/v1/notes", '{"text": "a\\u0000"}'), 422)
    assert body["errors"][0]["loc"] == ["body", "text"]
    assert "U+0000" in body["detail"]


@pytest.mark.parametrize("character", ["\u001b", "\u007f", "\u0085", "\u0007"])
def test_other_control_characters_are_refused_too(
    client: TestClient, auth: TokenFactory, character: str
) -> None:
    raw = json.dumps({"text": f"ok{character}"})
    assert _problem(_post(client, auth, "/v1/notes", raw), 422)["errors"][0]["loc"] == [
        "body",
        "text",
    ]


def test_tab_and_line_breaks_in_free_text_are_kept(client: TestClient, auth: TokenFactory) -> None:
    response = _post(client, auth, "/v1/notes", json.dumps({"text": "a\tb\r\nc"}))
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "a\tb\r\nc"


def test_a_control_character_in_a_member_name_is_refused(
    client: TestClient, auth: TokenFactory
) -> None:
    body = _problem(_post(client, auth, "/v1/notes", '{"text": "a", "x\\u0000": 1}'), 422)
    assert body["errors"][0]["loc"] == ["body"]


def test_a_nul_in_the_path_or_query_is_a_422_naming_it(
    client: TestClient, auth: TokenFactory
) -> None:
    in_path = _problem(client.get("/v1/notes/%00", headers=auth(Role.COORDINATOR)), 422)
    assert in_path["errors"][0]["loc"] == ["path"]
    in_query = _problem(client.get("/v1/notes?q=%00", headers=auth(Role.COORDINATOR)), 422)
    assert in_query["errors"][0]["loc"] == ["query", "q"]
    fine = client.get("/v1/notes?q=%E5%BC%A0", headers=auth(Role.COORDINATOR))
    assert fine.json() == {"q": "张"}


def test_integers_beyond_64_bits_and_nan_are_refused(
    client: TestClient, auth: TokenFactory
) -> None:
    huge = _problem(
        _post(client, auth, "/v1/notes", '{"text": "a", "count": 9223372036854775808}'), 422
    )
    assert huge["errors"][0]["loc"] == ["body", "count"]
    largest = _post(client, auth, "/v1/notes", '{"text": "a", "count": 9223372036854775807}')
    assert largest.status_code == 201
    assert _problem(_post(client, auth, "/v1/notes", '{"text": "a", "count": NaN}'), 422)


def test_deep_nesting_is_refused_before_anything_recurses(
    client: TestClient, auth: TokenFactory
) -> None:
    for depth in (65, 1_000, 20_000):
        raw = "[" * depth + "]" * depth
        response = _post(client, auth, "/v1/notes/raw", raw)
        assert _problem(response, 422)["detail"].endswith("levels")
    fine = _post(client, auth, "/v1/notes/raw", "[" * 30 + "]" * 30)
    assert fine.status_code == 200


def test_a_body_over_the_limit_is_a_413_before_parsing(
    client: TestClient, auth: TokenFactory
) -> None:
    big = json.dumps({"text": "x" * 5000})
    _problem(_post(client, auth, "/v1/notes", big), 413)
    # Raw JSON doors (FHIR) have their own, larger, limit.
    assert _post(client, auth, "/v1/notes/raw", big).status_code == 200
    _problem(_post(client, auth, "/v1/notes/raw", json.dumps(["x" * 70_000])), 413)


def test_a_body_in_another_media_type_is_a_415(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/v1/notes",
        content=b"text=a",
        headers={"content-type": "application/x-www-form-urlencoded", **auth(Role.COORDINATOR)},
    )
    assert "application/json" in _problem(response, 415)["detail"]
    fhir_style = _post(
        client, auth, "/v1/notes", '{"text": "a"}', **{"content-type": "application/fhir+json"}
    )
    assert fhir_style.status_code == 201


def test_405_names_every_method_of_the_path(client: TestClient, auth: TokenFactory) -> None:
    response = client.delete("/v1/notes", headers=auth(Role.COORDINATOR))
    _problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"


def test_a_bug_logs_where_it_happened_but_never_the_request_content(
    client: TestClient, auth: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    response = _post(client, auth, "/v1/notes/bug", json.dumps({"text": SECRET}))
    assert SECRET not in _problem(response, 500)["detail"]
    assert "request.unhandled_error" in caplog.text
    assert "ValueError" in caplog.text
    assert "test_input_hygiene.py" in caplog.text
    assert "night sweats" not in caplog.text


def test_an_unreachable_database_is_a_503_with_retry_after(
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
    auth: TokenFactory,
) -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    client = _app(settings_for("enrollment"), services["enrollment"], engine)
    response = client.get("/v1/notes/stored", headers=auth(Role.COORDINATOR))
    assert _problem(response, 503)["type"] == "/problems/unavailable"
    assert response.headers["retry-after"] == "5"


@pytest.mark.parametrize("service", ["enrollment", "safety", "imaging", "notifications"])
def test_every_service_refuses_a_nul_instead_of_failing(
    service: str, api: Callable[..., TestClient], auth: TokenFactory
) -> None:
    client = api(service)
    response = client.post(
        "/v1/diagnostics/tracer", json={"note": "a\u0000"}, headers=auth(Role.ADMIN)
    )
    assert _problem(response, 422)["errors"][0]["loc"] == ["body", "note"]
    listed = client.get("/v1/diagnostics/tracer/%00", headers=auth(Role.ADMIN))
    assert _problem(listed, 422)["errors"][0]["loc"] == ["path"]


def test_a_cursor_must_decode_to_positions_the_database_can_hold() -> None:
    assert decode_cursor(encode_cursor({"id": 7, "at": "2026-01-01"})) == {
        "id": 7,
        "at": "2026-01-01",
    }
    for forged in ({"id": 2**63}, {"id": "a\u0000"}, {"id": [1]}):
        with pytest.raises(Exception, match="not a cursor this API issued") as caught:
            decode_cursor(encode_cursor(forged))
        assert getattr(caught.value, "status", None) == 422


def test_the_checks_name_the_first_offending_character() -> None:
    assert control_character_in("fine\ttext") == "U+0009"
    assert control_character_in("fine\ttext", allowed=frozenset("\t")) is None
    check_json(b'{"valid": ["json", 1, 2.5, null, true]}')
    check_json(b"{not json")  # left to the endpoint's own 400


def test_a_control_character_is_what_unicode_calls_one() -> None:
    for point in range(0x110000):
        character = chr(point)
        expected = f"U+{point:04X}" if unicodedata.category(character) == "Cc" else None
        assert control_character_in(character) == expected


def _verdict(raw: bytes) -> str | None:
    """What check_json says of a body: None, or the refusal's detail."""
    try:
        check_json(raw)
    except InvalidInput as refused:
        return str(refused.detail)
    return None


def _walked(raw: bytes) -> str | None:
    """What the walk over every value says of a body that parses."""
    try:
        hygiene._check_document(json.loads(raw))
    except InvalidInput as refused:
        return str(refused.detail)
    return None


def _nested(depth: int, inner: Any = 1) -> Any:
    value = inner
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


BORDERS = {
    "63 levels": json.dumps(_nested(62)),
    "64 levels": json.dumps(_nested(63)),
    "65 levels": json.dumps(_nested(64)),
    "64 levels, empty innermost": json.dumps(_nested(63, [])),
    "brackets in strings": json.dumps({"a": "]]]]]]" * 20, "b": _nested(62)}),
    "opening brackets in strings": json.dumps({"a": "[[[[[[" * 20}),
    "largest 64-bit integer": json.dumps({"n": 2**63 - 1, "m": -(2**63)}),
    "2**63": json.dumps({"n": 2**63}),
    "below -2**63": json.dumps({"n": -(2**63) - 1}),
    "19 digits in a string": json.dumps({"n": "1" * 30}),
    "long fraction": "[0.12345678901234567890123]",
    "escaped line break in text": json.dumps({"text": "a\nb"}),
    "escaped line break in a name": json.dumps({"a\nb": 1}),
    "escaped NUL": json.dumps({"text": "a\u0000b"}),
    "escaped backspace": json.dumps({"text": "a\bb"}),
    "raw DEL": json.dumps({"text": "a\u007fb"}, ensure_ascii=False),
    "raw C1": json.dumps({"text": "a\u0085b"}, ensure_ascii=False),
    "escaped C1": json.dumps({"text": "a\u0085b"}),
    "an accent, escaped": json.dumps({"text": "é"}),
    "an accent, raw": json.dumps({"text": "é¢"}, ensure_ascii=False),
    "escaped quotes and backslashes": json.dumps({'a"]': '\\"[', "b": ["\\", '"']}),
}


@pytest.mark.parametrize("body", sorted(BORDERS), ids=str)
def test_the_quick_reading_of_a_body_agrees_with_the_walk_over_every_value(body: str) -> None:
    text = BORDERS[body]
    for raw in (text.encode(), text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert _verdict(raw) == _walked(raw), (body, raw[:40])


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x200), max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x200), max_size=4),
            children,
            max_size=3,
        )
    ),
    max_leaves=40,
)


@given(value=JSON_VALUES, ascii_only=st.booleans(), wrap=st.integers(min_value=0, max_value=70))
def test_any_body_is_refused_by_the_quick_reading_exactly_when_the_walk_refuses_it(
    value: Any, ascii_only: bool, wrap: int
) -> None:
    raw = json.dumps(_nested(wrap, value), ensure_ascii=ascii_only).encode()
    assert _verdict(raw) == _walked(raw)


def test_a_raw_json_body_is_parsed_once_for_the_checks_and_the_endpoint(
    client: TestClient, auth: TokenFactory
) -> None:
    sent = {"resourceType": "Bundle", "entry": [{"resource": {"id": "a]", "n": 1}}]}
    answer = _post(client, auth, "/v1/notes/document", json.dumps(sent))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"read": sent, "parsed_once": True}
    malformed = _post(client, auth, "/v1/notes/document", '{"resourceType": ')
    assert _problem(malformed, 400)["detail"].startswith("the request body is not valid JSON")
