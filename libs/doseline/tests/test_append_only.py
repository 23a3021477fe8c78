"""Any table can be made append-only by the database itself, and the guard can be removed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from doseline.append_only import append_only_ddl, drop_append_only_ddl

SCHEMA = "append_only_check"


@pytest.fixture
def guarded_log(clean_db: Engine) -> Iterator[Engine]:
    with clean_db.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        connection.execute(text(f'CREATE TABLE "{SCHEMA}".entries (id int primary key)'))
        connection.execute(text(f'INSERT INTO "{SCHEMA}".entries VALUES (1)'))
        for statement in append_only_ddl(SCHEMA, "entries"):
            connection.execute(text(statement))
    yield clean_db
    with clean_db.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))


@pytest.mark.parametrize(
    "statement",
    [
        f'UPDATE "{SCHEMA}".entries SET id = 2',
        f'DELETE FROM "{SCHEMA}".entries',
        f'TRUNCATE "{SCHEMA}".entries',
    ],
)
def test_an_append_only_table_refuses_changes_and_removals(
    guarded_log: Engine, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="entries is append-only"), guarded_log.begin() as db:
        db.execute(text(statement))
    with guarded_log.begin() as db:
        db.execute(text(f'INSERT INTO "{SCHEMA}".entries VALUES (2)'))
        assert db.scalar(text(f'SELECT count(*) FROM "{SCHEMA}".entries')) == 2


def test_dropping_the_guard_allows_changes_again(guarded_log: Engine) -> None:
    with guarded_log.begin() as db:
        for statement in drop_append_only_ddl(SCHEMA, "entries"):
            db.execute(text(statement))
        db.execute(text(f'DELETE FROM "{SCHEMA}".entries'))
        assert db.scalar(text(f'SELECT count(*) FROM "{SCHEMA}".entries')) == 0
