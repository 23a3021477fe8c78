"""The services work together: migrations match the models, every endpoint is guarded, and a
tracer event goes from one service's outbox to the others over the real broker."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import alembic.command
import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from doseline import migrations
from doseline.auth import Role
from doseline.manifest import ServiceManifest
from doseline.testing.plugin import EventPump, TokenFactory

# Operations without a token, and the path each is called at.
ANONYMOUS = {
    "/healthz": "/healthz",
    "/readyz": "/readyz",
    "/problems": "/problems",
    "/problems/{slug}": "/problems/not-found",
}


def test_every_service_is_installed(services: dict[str, ServiceManifest]) -> None:
    assert {"enrollment", "safety", "imaging"} <= set(services)
    assert [m.port for m in services.values()][:3] == [8001, 8002, 8003]


def test_models_and_migrations_agree(
    services: dict[str, ServiceManifest], database_url: str
) -> None:
    """`alembic check` for every service: no model change is missing a migration."""
    for manifest in services.values():
        migrations.check(
            migrations=manifest.migrations, schema=manifest.schema, database_url=database_url
        )


def test_each_history_keeps_its_version_table_in_its_own_schema(
    services: dict[str, ServiceManifest], db_engine: Engine
) -> None:
    with db_engine.connect() as connection:
        for name in services:
            version = connection.scalar(text(f'SELECT version_num FROM "{name}".alembic_version'))
            assert version


def test_the_heads_read_from_the_revision_files_are_alembics_heads(
    services: dict[str, ServiceManifest],
) -> None:
    """A start compares these with the stored version instead of loading Alembic."""
    for manifest in services.values():
        config = migrations.alembic_config(
            migrations=manifest.migrations, schema=manifest.schema, database_url="postgresql://"
        )
        alembics = ScriptDirectory.from_config(config).get_heads()
        assert migrations.heads(manifest.migrations) == frozenset(alembics), manifest.name
        assert len(alembics) == 1, manifest.name


def test_a_start_on_a_database_at_head_runs_no_migration(
    services: dict[str, ServiceManifest], database_url: str
) -> None:
    for manifest in services.values():
        stored = migrations.stored_versions(schema=manifest.schema, database_url=database_url)
        assert stored == migrations.heads(manifest.migrations), manifest.name
        ran = migrations.upgrade(
            migrations=manifest.migrations, schema=manifest.schema, database_url=database_url
        )
        assert ran is False, manifest.name


def test_a_new_database_and_one_a_migration_behind_are_brought_to_head(
    services: dict[str, ServiceManifest], postgres_admin_url: str
) -> None:
    manifest = services["notifications"]
    name = f"doseline_test_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    where = {"migrations": manifest.migrations, "schema": manifest.schema, "database_url": url}
    try:
        assert migrations.stored_versions(schema=manifest.schema, database_url=url) == frozenset()
        assert migrations.upgrade(**where) is True
        assert migrations.upgrade(**where) is False
        config = migrations.alembic_config(**where)
        alembic.command.downgrade(config, "-1")
        assert migrations.stored_versions(schema=manifest.schema, database_url=url) != (
            migrations.heads(manifest.migrations)
        )
        assert migrations.upgrade(**where) is True
        assert migrations.stored_versions(schema=manifest.schema, database_url=url) == (
            migrations.heads(manifest.migrations)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_endpoint_but_health_needs_a_token(
    api: Callable[..., TestClient], services: dict[str, ServiceManifest]
) -> None:
    checked = 0
    for name in services:
        client = api(name)
        for path, operations in client.get("/openapi.json").json()["paths"].items():
            for method in operations:
                if path in ANONYMOUS:
                    continue
                response = client.request(method.upper(), _concrete(path))
                assert response.status_code == 401, f"{name} {method.upper()} {path}"
                assert response.headers["content-type"] == "application/problem+json"
                checked += 1
        for path in ANONYMOUS.values():
            assert client.get(path).status_code == 200
        assert client.get("/docs").status_code == 200
    assert checked >= 6


@pytest.mark.parametrize("origin", ["enrollment", "safety", "imaging"])
def test_a_tracer_from_one_service_reaches_the_others_over_the_real_broker(
    origin: str,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    deliver_events: EventPump,
) -> None:
    admin = auth(Role.ADMIN)
    sent = api(origin).post("/v1/diagnostics/tracer", json={"note": "plumbing"}, headers=admin)
    assert sent.status_code == 202, sent.text
    event_id = sent.json()["event_id"]

    assert deliver_events() == 1

    for name in ("enrollment", "safety", "imaging"):
        receipt = api(name).get(f"/v1/diagnostics/tracer/{event_id}", headers=admin)
        assert receipt.status_code == 200, (name, receipt.text)
        assert receipt.json()["source"] == f"urn:doseline:{origin}"
