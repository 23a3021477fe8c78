"""Alembic, one history per service, with the version table inside the service's own schema."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, create_engine, pool, text

from doseline.db import normalise_database_url
from doseline.schema import ServiceSchema


def alembic_config(*, migrations: Path, schema: ServiceSchema, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option(
        "sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%")
    )
    config.attributes["schema"] = schema
    return config


def upgrade(*, migrations: Path, schema: ServiceSchema, database_url: str) -> None:
    command.upgrade(
        alembic_config(migrations=migrations, schema=schema, database_url=database_url), "head"
    )


def check(*, migrations: Path, schema: ServiceSchema, database_url: str) -> None:
    """Raise if the models and the migration history disagree (`alembic check`)."""
    command.check(alembic_config(migrations=migrations, schema=schema, database_url=database_url))


def run_env(schema: ServiceSchema) -> None:
    """The body of every service's `env.py`."""
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


def _only(schema: ServiceSchema):  # type: ignore[no-untyped-def]
    def include_name(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
        if type_ == "schema":
            return name == schema.name
        return True

    return include_name
