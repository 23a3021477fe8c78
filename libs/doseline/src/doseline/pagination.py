"""Keyset pagination: one cursor format, one cursor check and one page-size policy for every list.

A list declares the key it is ordered by once, as a `Keyset` (`Keyset(created_at=datetime,
id=uuid.UUID)`); `read` turns a client's cursor back into that key or answers 422, `after`
writes the WHERE clause that resumes behind it (a row comparison an index on the same columns
serves), and `page` cuts the `limit + 1` rows fetched into a page and its `next_cursor`. Cursors
are opaque to clients, survive inserts between pages, and never cost an OFFSET.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, true, tuple_

from doseline.errors import InvalidInput
from doseline.hygiene import BIGINT, control_character_in

# The page-size policy of every list: a client that says nothing gets DEFAULT_PAGE_SIZE rows, and
# no client gets more than MAX_PAGE_SIZE in one answer.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_CURSOR_LENGTH = 500

PageSize = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Rows per page, 1 to {MAX_PAGE_SIZE}")
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the page read before"),
]

NOT_ISSUED = "not a cursor this API issued; start again without one"

T = TypeVar("T")
U = TypeVar("U")
KeyKind = type[int] | type[str] | type[uuid.UUID] | type[datetime]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: Mapping[str, Any]) -> str:
    raw = json.dumps(
        {name: _plain(value) for name, value in position.items()},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, parameter: str = "cursor") -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError):
        raise InvalidInput.at(["query", parameter], NOT_ISSUED) from None
    if not isinstance(value, dict) or not all(_storable(item) for item in value.values()):
        raise InvalidInput.at(["query", parameter], NOT_ISSUED)
    return value


class Keyset:
    """The unique key a list is ordered by, ascending, and the cursor that names a row of it."""

    def __init__(self, **kinds: KeyKind) -> None:
        self.kinds: dict[str, KeyKind] = dict(kinds)

    def read(self, cursor: str | None, *, parameter: str = "cursor") -> tuple[Any, ...] | None:
        """The key a cursor resumes after; None for the first page; 422 for anything else."""
        decoded = decode_cursor(cursor, parameter=parameter)
        if decoded is None:
            return None
        if set(decoded) != set(self.kinds):
            raise InvalidInput.at(["query", parameter], NOT_ISSUED)
        try:
            return tuple(_typed(decoded[name], kind) for name, kind in self.kinds.items())
        except (TypeError, ValueError):
            raise InvalidInput.at(["query", parameter], NOT_ISSUED) from None

    def write(self, key: Sequence[Any]) -> str:
        return encode_cursor(dict(zip(self.kinds, key, strict=True)))

    def page(self, rows: Sequence[T], *, limit: int, key: Callable[[T], Sequence[Any]]) -> Rows[T]:
        """A page from `limit + 1` fetched rows; the extra row only proves there is more."""
        shown = list(rows[:limit])
        more = len(rows) > limit and bool(shown)
        return Rows(items=shown, next_cursor=self.write(key(shown[-1])) if more else None)


@dataclass(frozen=True)
class Rows(Generic[T]):
    """A page of rows as read, before they are shown."""

    items: list[T]
    next_cursor: str | None

    def shown_as(self, out: Callable[[T], U]) -> Page[U]:
        return Page[U](items=[out(item) for item in self.items], next_cursor=self.next_cursor)


def after(position: Sequence[Any] | None, *columns: Any) -> ColumnElement[bool]:
    """Rows strictly after `position` in the order of `columns` (all ascending)."""
    if position is None:
        return true()
    if len(columns) == 1:
        condition: ColumnElement[bool] = columns[0] > position[0]
        return condition
    return tuple_(*columns) > tuple_(*position)


def next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    """RFC 8288 `Link: <…>; rel="next"` for a list answered as a bare JSON array."""
    if next_cursor is None:
        return {}
    query = {name: value for name, value in request.query_params.items() if name != "cursor"}
    query["cursor"] = next_cursor
    return {"Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _typed(value: Any, kind: KeyKind) -> Any:
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("an integer key")
        return value
    if not isinstance(value, str):
        raise TypeError("a text key")
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a cursor's moment carries its offset")
        return moment
    if kind is uuid.UUID:
        return uuid.UUID(value)
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
