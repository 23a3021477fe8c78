"""Input hygiene for every service, before any endpoint sees a request.

One ASGI middleware, so that no service can forget it:

- the path and query string may not hold control characters (a NUL, an escape, a DEL): 422
  naming the parameter;
- a JSON body (typed endpoints, and the raw FHIR doors alike) is read up to a size limit (413
  beyond it), parsed once with a nesting limit, and refused with 422 naming the field when a
  string holds a control character other than tab, line feed or carriage return, when an integer
  cannot be stored in a 64-bit column, or when it uses the non-standard NaN / Infinity constants;
- a body sent to an endpoint that takes JSON in another media type is a 415.

A large body (a lab Bundle of a thousand Observations is 450 KB and 30,000 values) is first read
as bytes: when no escape or byte could make a control character, no number is long enough to
overflow and the brackets do not nest too deep, nothing in it can break a rule and the walk over
every value is skipped. Anything else is walked, and refused naming the field as before.

Problems never repeat the offending value: request content stays out of responses and logs.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doseline.errors import DoselineError, InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_DEPTH = 64
BIGINT = 2**63
ALLOWED_IN_TEXT = frozenset("\t\n\r")
JSON_MEDIA_SUFFIX = "+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# Unicode's control characters (general category Cc) are exactly C0, DEL and C1.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character_in(text: str, *, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character of `text` that is not `allowed` (as "U+001B"), else None."""
    for found in _CONTROL.finditer(text):
        if found.group() not in allowed:
            return f"U+{ord(found.group()):04X}"
    return None


def is_json_media(content_type: str) -> bool:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    return media == "application/json" or media.endswith(JSON_MEDIA_SUFFIX)


@dataclass(frozen=True)
class BodyLimits:
    """`typed`: endpoints whose body FastAPI validates against a model; `raw`: every other JSON
    body read whole by the middleware (the FHIR doors keep their own, equal or smaller, limit)."""

    typed: int
    raw: int


def _check_location(scope: Scope) -> None:
    path = scope.get("path", "")
    found = control_character_in(path)
    if found:
        raise InvalidInput.at(["path"], f"contains the control character {found}; remove it")
    query = scope.get("query_string", b"").decode("utf-8", errors="replace")
    for name, value in parse_qsl(query, keep_blank_values=True):
        where = ["query", name if control_character_in(name) is None else "?"]
        found = control_character_in(name) or control_character_in(value)
        if found:
            raise InvalidInput.at(where, f"contains the control character {found}; remove it")


def _refuse_constant(name: str) -> Any:
    raise InvalidInput.at(["body"], f"{name} is not a JSON number; send a finite number or null")


def _walk(value: Any) -> Iterator[tuple[list[str | int], Any]]:
    """Every value in a parsed JSON document with its location, depth first, without recursion."""
    stack: list[tuple[list[str | int], Any]] = [(["body"], value)]
    while stack:
        location, item = stack.pop()
        yield location, item
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append(([*location, key], child))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append(([*location, index], child))


# In a UTF-8 JSON text that parsed, a string can hold a control character only through an
# escape (\b, \f, \n, \r, \t, \u00XX) or a raw DEL or C1 character (UTF-8 C2 80-9F): raw C0
# bytes inside strings are not JSON. Some matches are harmless (\u00e9, a text ending in a
# backslash): those bodies are walked.
_ESCAPED_CONTROL = re.compile(rb"\\[bfnrt]|\\u00[0-9A-Fa-f]{2}")
_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# 2**63 has 19 digits: a shorter run of digits is an integer a 64-bit column holds.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_OPENS, _CLOSES = b"[{", b"]}"
_NESTING = bytes.maketrans(_OPENS + _CLOSES, b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(_OPENS + _CLOSES))


def _plainly_acceptable(raw: bytes) -> bool:
    """Whether a body that parsed as JSON holds nothing `_check_document` could refuse: no
    possible control character, no integer of 19 digits or more, brackets nested less than
    MAX_DEPTH deep (strings removed first, so that their brackets do not count)."""
    if json.detect_encoding(raw) != "utf-8" or b"\x7f" in raw:
        return False
    if b"\xc2" in raw and _C1.search(raw):
        return False
    if b"\\" in raw:
        if _ESCAPED_CONTROL.search(raw):
            return False
        bare = _STRING.sub(b'""', raw)
    else:
        # Without escapes every quote opens or closes a string.
        bare = b"".join(raw.split(b'"')[::2])
    if _LONG_NUMBER.search(bare):
        return False
    brackets = bare.translate(_NESTING, _NOT_BRACKETS)
    return not brackets or max(accumulate(array("b", brackets))) < MAX_DEPTH


NOT_JSON: Final = object()
"""What `check_json` returns for a body that does not parse."""
PARSED_BODY: Final = "doseline.parsed_body"
"""The request state key under which the middleware leaves (body, document) for `json_body`."""


def check_json(raw: bytes) -> Any:
    """Refuse a JSON document that no Doseline endpoint could store; the document, or NOT_JSON
    for malformed JSON, which is left to the endpoint (a 400 with the parser's message)."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput.at(
            ["body"], f"nests arrays or objects deeper than {MAX_DEPTH} levels"
        ) from None
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON
    if not _plainly_acceptable(raw):
        _check_document(document)
    return document


def _check_document(document: Any) -> None:
    """Every value of a parsed body against the rules, refused naming the first that breaks one."""
    for location, item in _walk(document):
        # The document itself is at depth 1: ["body"].
        if len(location) > MAX_DEPTH:
            raise InvalidInput.at(location[:MAX_DEPTH], f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            found = control_character_in(item, allowed=ALLOWED_IN_TEXT)
            if found:
                raise InvalidInput.at(location, f"contains the control character {found}")
        elif isinstance(item, dict):
            for key in item:
                found = control_character_in(key)
                if found:
                    raise InvalidInput.at(location, f"a member name contains {found}")
        elif isinstance(item, int) and not isinstance(item, bool) and not -BIGINT <= item < BIGINT:
            raise InvalidInput.at(location, "is beyond the range of a 64-bit integer")


class InputHygiene:
    """ASGI middleware applying the rules of this module to every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: BodyLimits,
        routes: Sequence[APIRoute],
        render: Callable[[Scope, DoselineError], ASGIApp],
    ) -> None:
        self.app = app
        self.limits = limits
        self.routes = routes
        self.render = render

    def _route(self, scope: Scope) -> APIRoute | None:
        for route in self.routes:
            if route.matches(scope)[0] == Match.FULL:
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_location(scope)
            receive = await self._checked_body(scope, receive)
        except DoselineError as error:
            await self.render(scope, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        if scope.get("method") not in BODY_METHODS:
            return receive
        headers = {name.lower(): value for name, value in scope.get("headers") or []}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        route = self._route(scope)
        typed = route is not None and route.body_field is not None
        if content_type and not is_json_media(content_type):
            if typed and _declared_length(headers) != 0:
                raise UnsupportedMediaType(
                    f"send this body as application/json, not {content_type.split(';')[0]}"
                )
            return receive
        limit = self.limits.typed if typed else self.limits.raw
        declared = _declared_length(headers)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes; send less")
        body, more = await _read(receive, limit)
        if more:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes; send less")
        if body:
            document = check_json(body)
            if document is not NOT_JSON:
                # Parsed once: an endpoint reading the raw body (doseline.http.json_body) takes it.
                scope.setdefault("state", {})[PARSED_BODY] = (body, document)
        return _replay(body, receive)


def _declared_length(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body up to `limit` bytes, and whether more was sent."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
