"""Alembic, one history per service, with the version table inside the service's own schema.

A start whose database is already at head runs no migration and does not import Alembic: the
history's heads are read from the revision files and compared with the stored version in one
query (`upgrade` then returns False).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, ScalarResult, column, create_engine, pool, select, table, text
from sqlalchemy.exc import ProgrammingError

from doseline.db import normalise_database_url
from doseline.schema import ServiceSchema

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.environment import IncludeNameFn, NameFilterParentNames, NameFilterType


def alembic_config(*, migrations: Path, schema: ServiceSchema, database_url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (Alembic loads only to migrate)

    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option(
        "sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%")
    )
    config.attributes["schema"] = schema
    return config


def upgrade(*, migrations: Path, schema: ServiceSchema, database_url: str) -> bool:
    """Bring the schema to head; False, with nothing run, when it is at head already."""
    if stored_versions(schema=schema, database_url=database_url) == heads(migrations):
        return False
    from alembic import command  # noqa: PLC0415 (see the module's docstring)

    command.upgrade(
        alembic_config(migrations=migrations, schema=schema, database_url=database_url), "head"
    )
    return True


def check(*, migrations: Path, schema: ServiceSchema, database_url: str) -> None:
    """Raise if the models and the migration history disagree (`alembic check`)."""
    from alembic import command  # noqa: PLC0415

    command.check(alembic_config(migrations=migrations, schema=schema, database_url=database_url))


def heads(migrations: Path) -> frozenset[str]:
    """The revisions of the history that no other revision revises (what Alembic calls heads),
    read from the revision files' `revision` and `down_revision` without importing them."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (migrations / "versions").glob("*.py"):
        found = _revision_identifiers(path)
        if "revision" not in found:
            continue
        revisions.add(str(found["revision"]))
        down = found.get("down_revision")
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):
            revised.update(str(parent) for parent in down)
    return frozenset(revisions - revised)


def _revision_identifiers(path: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets: list[ast.expr] = [node.target]
            value = node.value
        elif isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
    return found


def stored_versions(*, schema: ServiceSchema, database_url: str) -> frozenset[str]:
    """The revisions recorded in the schema's version table; empty before the first migration."""
    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            versions: ScalarResult[object] = connection.scalars(
                select(column("version_num")).select_from(
                    table("alembic_version", schema=schema.name)
                )
            )
            return frozenset(str(version) for version in versions)
    except ProgrammingError:  # no schema or no version table yet
        return frozenset()
    finally:
        engine.dispose()


def run_env(schema: ServiceSchema) -> None:
    """The body of every service's `env.py`."""
    from alembic import context  # noqa: PLC0415

    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        f"{schema.name.upper()}_DATABASE_URL"
    )
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=schema.metadata,
            version_table_schema=schema.name,
            include_schemas=True,
            include_name=_only(schema),
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    if url is None:
        raise RuntimeError(
            f"no database URL: set {schema.name.upper()}_DATABASE_URL or sqlalchemy.url"
        )
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _migrate(connection, schema)
    engine.dispose()


def _migrate(connection: Connection, schema: ServiceSchema) -> None:
    from alembic import context  # noqa: PLC0415

    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema.name}"'))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        version_table_schema=schema.name,
        include_schemas=True,
        include_name=_only(schema),
        compare_type=True,
    )
    with context.begin_transaction():
        # Two migrators starting at once (several pods) must not both run the history.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
            {"name": f"{schema.name}.migrate"},
        )
        context.run_migrations()


def _only(schema: ServiceSchema) -> IncludeNameFn:
    def include_name(
        name: str | None, type_: NameFilterType, _parent_names: NameFilterParentNames
    ) -> bool:
        if type_ == "schema":
            return name == schema.name
        return True

    return include_name
