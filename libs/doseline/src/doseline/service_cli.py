"""The command line of every service: `python -m <service> migrate|api|worker|relay|...`."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from doseline import audit, migrations
from doseline.db import make_engine
from doseline.manifest import ServiceManifest
from doseline.runtime import run_all_in_one, run_api, run_relay, run_worker
from doseline.settings import ServiceSettings


def _migrate(manifest: ServiceManifest, settings: ServiceSettings) -> None:
    migrations.upgrade(
        migrations=manifest.migrations,
        schema=manifest.schema,
        database_url=settings.database_url,
    )
    typer.echo(f"{manifest.name}: schema {manifest.schema.name} is at head")


def _bootstrap(manifest: ServiceManifest, settings: ServiceSettings) -> None:
    if manifest.bootstrap is None:
        typer.echo(f"{manifest.name}: nothing to load")
        return
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with manifest.schema.session_factory(engine)() as session, session.begin():
            for line in manifest.bootstrap(settings, session):
                typer.echo(f"{manifest.name}: {line}")
    finally:
        engine.dispose()


def service_cli(manifest: ServiceManifest) -> typer.Typer:
    app = typer.Typer(name=manifest.name, help=manifest.summary, no_args_is_help=True)

    @app.command()
    def migrate() -> None:
        """Bring the service's schema to the newest migration."""
        _migrate(manifest, manifest.settings_class())

    @app.command()
    def api(
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on")] = manifest.port,
    ) -> None:
        """Serve the HTTP API."""
        run_api(manifest, manifest.settings_class(), host=host, port=port)

    @app.command()
    def worker() -> None:
        """Consume events from the broker and run the periodic jobs."""
        run_worker(manifest, manifest.settings_class())

    @app.command()
    def relay() -> None:
        """Publish the outbox to the broker."""
        run_relay(manifest, manifest.settings_class())

    @app.command()
    def bootstrap() -> None:
        """Load the reference data the service needs (idempotent)."""
        _bootstrap(manifest, manifest.settings_class())

    @app.command("all-in-one")
    def all_in_one(
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on")] = manifest.port,
    ) -> None:
        """Development (`make run`): migrate, load, then API, worker and relay in one process."""
        settings = manifest.settings_class()
        _migrate(manifest, settings)
        _bootstrap(manifest, settings)
        run_all_in_one(manifest, settings, host=host, port=port)
        # Everything is closed by now (API, relay, worker, engines, broker connections). The
        # interpreter's own teardown would garbage-collect every module and object one by one,
        # seconds on a busy machine, past the launcher's patience: leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    @app.command("audit-verify")
    def audit_verify(
        expected_head: Annotated[
            str | None, typer.Option(help="Head hash recorded earlier, to detect a cut tail")
        ] = None,
    ) -> None:
        """Recompute the audit trail's hash chain and report any tampering."""
        settings = manifest.settings_class()
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            with manifest.schema.session_factory(engine)() as session:
                report = audit.verify(session, expected_head=expected_head)
        finally:
            engine.dispose()
        for problem in report.problems:
            typer.echo(f"TAMPERED: {problem}", err=True)
        typer.echo(
            f"{manifest.name}: {report.entries} audit entries, head {report.head_hash}, "
            + ("intact" if report.intact else f"{len(report.problems)} problem(s)")
        )
        raise typer.Exit(0 if report.intact else 1)

    return app
