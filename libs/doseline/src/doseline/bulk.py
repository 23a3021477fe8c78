"""Many rows in one INSERT of one array per column (PostgreSQL `unnest`).

A multi-row VALUES list carries one parameter per column per row: thousands of parameters that
the driver rewrites and the server parses anew for every batch size. One array per column keeps
the statement the same few parameters however many rows it stores. JSON columns travel as text
and are cast back; every other column as an array of its own type.

The statement of a table and set of columns is built once per process (`insert_statement`) and
executed with the rows' arrays as parameters (`array_parameters`): building it, and SQLAlchemy
computing its cache key, cost more than running it for a transaction's few rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Select, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB, Insert, insert


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON | JSONB)


def _selected(table: Table, keys: Sequence[str]) -> list[Column[Any]]:
    return [column for column in table.columns if column.key in keys]


@lru_cache(maxsize=256)
def _unnested(table: Table, keys: tuple[str, ...]) -> Select[Any]:
    columns = []
    for column in _selected(table, keys):
        array_type = ARRAY(Text) if _is_json(column) else ARRAY(column.type)
        array = bindparam(column.key, type_=array_type)
        columns.append(cast(func.unnest(array), column.type).label(column.key))
    return select(*columns)


@lru_cache(maxsize=256)
def insert_statement(table: Table, keys: tuple[str, ...]) -> Insert:
    """INSERT … SELECT from one array parameter per column named in `keys` (built once)."""
    source = _unnested(table, keys)
    return insert(table).from_select([table.c[c.name] for c in source.selected_columns], source)


def array_parameters(table: Table, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The parameters of `insert_statement(table, tuple(rows[0]))` for `rows`."""
    parameters: dict[str, list[Any]] = {}
    for column in _selected(table, tuple(rows[0])):
        values = [row[column.key] for row in rows]
        if _is_json(column):
            values = [None if value is None else json.dumps(value) for value in values]
        parameters[column.key] = values
    return parameters


def unnested(table: Table, rows: Sequence[Mapping[str, Any]]) -> Select[Any]:
    """The rows as a SELECT of the table's columns that the first row names."""
    return _unnested(table, tuple(rows[0])).params(array_parameters(table, rows))


def insert_rows(table: Table, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """INSERT … SELECT of `rows` (not empty), to which ON CONFLICT and RETURNING can be added."""
    source = unnested(table, rows)
    return insert(table).from_select([table.c[c.name] for c in source.selected_columns], source)


__all__ = ["array_parameters", "insert_rows", "insert_statement", "unnested"]
