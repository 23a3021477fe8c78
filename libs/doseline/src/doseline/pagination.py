"""Cursor pagination: opaque cursors that survive inserts between pages."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from doseline.errors import InvalidInput
from doseline.hygiene import BIGINT, control_character_in

MAX_PAGE_SIZE = 500

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError):
        raise InvalidInput.at(
            ["query", "cursor"], "not a cursor this API issued; start again without one"
        ) from None
    if not isinstance(value, dict) or not all(_storable(item) for item in value.values()):
        raise InvalidInput.at(["query", "cursor"], "not a cursor this API issued")
    return value


def _storable(value: Any) -> bool:
    """A cursor position the database can compare: what `encode_cursor` writes, within range."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -BIGINT <= value < BIGINT
    if isinstance(value, str):
        return control_character_in(value) is None
    return isinstance(value, float)


def page_of(items: Sequence[T], *, limit: int, cursor_of: Callable[[T], dict[str, Any]]) -> Page[T]:
    """Build a page from `limit + 1` fetched rows; the extra row only proves there is more."""
    has_more = len(items) > limit
    shown = list(items[:limit])
    next_cursor = encode_cursor(cursor_of(shown[-1])) if has_more and shown else None
    return Page[T](items=shown, next_cursor=next_cursor)
