"""Many rows in one INSERT of one array per column (PostgreSQL `unnest`).

A multi-row VALUES list carries one parameter per column per row: thousands of parameters that
the driver rewrites and the server parses anew for every batch size. One array per column keeps
the statement the same few parameters however many rows it stores. JSON columns travel as text
and are cast back; every other column as an array of its own type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB, Insert, insert


def unnested(table: Table, rows: Sequence[Mapping[str, Any]]) -> Select[Any]:
    """The rows as a SELECT of the table's columns that the first row names."""
    columns = []
    for column in table.columns:
        if column.key not in rows[0]:
            continue
        values = [row[column.key] for row in rows]
        if isinstance(column.type, JSON | JSONB):
            texts = [None if value is None else json.dumps(value) for value in values]
            array = bindparam(column.key, texts, type_=ARRAY(Text))
        else:
            array = bindparam(column.key, values, type_=ARRAY(column.type))
        columns.append(cast(func.unnest(array), column.type).label(column.key))
    return select(*columns)


def insert_rows(table: Table, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """INSERT … SELECT of `rows` (not empty), to which ON CONFLICT and RETURNING can be added."""
    source = unnested(table, rows)
    return insert(table).from_select([table.c[c.name] for c in source.selected_columns], source)


__all__ = ["insert_rows", "unnested"]
