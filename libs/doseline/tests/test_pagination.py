"""One cursor check for every list: a cursor names a key of the list that issued it, or is a 422."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import column
from starlette.requests import Request

from doseline.errors import InvalidInput
from doseline.pagination import (
    Keyset,
    after,
    encode_cursor,
    next_link,
)

REPORTED = Keyset(created_at=datetime, id=uuid.UUID)
LOG = Keyset(p=int)


def _refused(keyset: Keyset, cursor: str, parameter: str = "cursor") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        keyset.read(cursor, parameter=parameter)
    assert caught.value.status == 422
    assert caught.value.extra["errors"][0]["loc"] == ["query", parameter]
    return caught.value


def test_a_cursor_reads_back_as_the_key_it_was_written_from() -> None:
    key = (datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))), uuid.uuid4())
    assert REPORTED.read(REPORTED.write(key)) == key
    assert LOG.read(LOG.write((41,))) == (41,)


def test_no_cursor_is_the_first_page() -> None:
    assert REPORTED.read(None) is None
    assert REPORTED.read("") is None


# Fixed values: test ids must be the same in every collecting process (pytest-xdist).
SOME_ID = "0ce60c62-1f2e-4b7a-9c3d-5e6f7a8b9c0d"
SOME_MOMENT = datetime(2026, 12, 7, 8, 33, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("%%%", id="not-base64"),
        pytest.param(encode_cursor({"p": 7}), id="another-lists-key"),
        pytest.param(
            encode_cursor({"created_at": "2026-03-01T09:30:00", "id": SOME_ID}),
            id="moment-without-offset",
        ),
        pytest.param(encode_cursor({"created_at": "yesterday", "id": SOME_ID}), id="not-a-moment"),
        pytest.param(
            encode_cursor({"created_at": SOME_MOMENT, "id": "not-a-uuid"}), id="not-a-uuid"
        ),
        pytest.param(encode_cursor({"created_at": 5, "id": SOME_ID}), id="number-for-a-moment"),
        pytest.param(
            encode_cursor({"created_at": SOME_MOMENT, "id": SOME_ID, "x": 1}), id="extra-field"
        ),
    ],
)
def test_a_cursor_another_list_or_a_hand_made_one_is_refused(cursor: str) -> None:
    error = _refused(REPORTED, cursor)
    assert "start again without one" in error.detail


@pytest.mark.parametrize("value", ["7", True, 2**63, 1.5])
def test_an_integer_key_takes_only_an_integer_the_database_can_hold(value: object) -> None:
    _refused(LOG, encode_cursor({"p": value}), parameter="after")


def test_a_page_shows_limit_rows_and_a_cursor_only_when_there_are_more() -> None:
    rows = [(n,) for n in range(1, 5)]
    more = LOG.page(rows, limit=3, key=lambda row: row)
    assert more.items == [(1,), (2,), (3,)]
    assert more.next_cursor is not None
    assert LOG.read(more.next_cursor) == (3,)
    last = LOG.page(rows[:3], limit=3, key=lambda row: row)
    assert last.items == [(1,), (2,), (3,)]
    assert last.next_cursor is None
    shown = more.shown_as(lambda row: {"n": row[0]})
    assert shown.items == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert shown.next_cursor == more.next_cursor


def test_the_where_clause_resumes_strictly_after_the_key_in_row_order() -> None:
    clause = after((3, "b"), column("a"), column("b"))
    assert str(clause.compile(compile_kwargs={"literal_binds": True})) == "(a, b) > (3, 'b')"
    assert str(after(None, column("a")).compile()) == "true"


def test_a_bare_array_list_points_to_its_next_page_keeping_its_filters() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/dlts",
            "query_string": b"status=suspected&cursor=old&limit=2",
            "headers": [],
        }
    )
    link = next_link(request, "abc")["Link"]
    assert link == '</v1/dlts?status=suspected&limit=2&cursor=abc>; rel="next"'
    assert next_link(request, None) == {}
