"""The command line of every service: `python -m <service> migrate|api|worker|relay|...`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from doseline import audit, audit_checkpoints, migrations
from doseline.db import make_engine
from doseline.manifest import ServiceManifest, SettingsT
from doseline.runtime import run_all_in_one, run_api, run_relay, run_worker


def _migrate(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    migrated = migrations.upgrade(
        migrations=manifest.migrations,
        schema=manifest.schema,
        database_url=settings.database_url,
    )
    typer.echo(
        f"{manifest.name}: schema {manifest.schema.name} is at head"
        + ("" if migrated else " (no migration to run)")
    )


def _bootstrap(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    if manifest.bootstrap is None:
        typer.echo(f"{manifest.name}: nothing to load")
        return
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
        with sessions() as session, session.begin():
            for line in manifest.bootstrap(settings, session):
                typer.echo(f"{manifest.name}: {line}")
    finally:
        engine.dispose()


# The replica-mode rewrite of one early entry flags every entry after it; the first few and the
# first difference say what happened.
_PROBLEMS_SHOWN = 20


def _checkpoints(
    service: str, own_file: Path, files: list[Path] | None, typed: list[str] | None
) -> list[audit.Checkpoint]:
    """The checkpoint file (if written yet) and those given on the command line."""
    found: list[audit.Checkpoint] = []
    try:
        if own_file.exists():
            found += audit_checkpoints.read(own_file, service=service)
        else:
            typer.echo(
                f"{service}: no checkpoint file at {own_file} yet; a cut tail or a chain "
                "rewritten whole is visible only against checkpoints",
                err=True,
            )
        for path in files or []:
            found += audit_checkpoints.read(path, service=service)
        now = datetime.now(UTC)
        found += [audit_checkpoints.parse_argument(text, at=now) for text in typed or []]
    except audit_checkpoints.CheckpointFileError as error:
        typer.echo(f"{service}: {error}", err=True)
        raise typer.Exit(2) from None
    return found


def _print_report(service: str, report: audit.VerifyReport) -> None:
    shown = report.problems[:_PROBLEMS_SHOWN]
    for problem in shown:
        typer.echo(f"TAMPERED: {problem}", err=True)
    if len(report.problems) > len(shown):
        typer.echo(f"TAMPERED: … and {len(report.problems) - len(shown)} more problem(s)", err=True)
    first = report.first_problem
    if first is not None:
        typer.echo(
            f"{service}: first entry that differs: {first.entry} "
            f"(position {first.position}): {first.what}",
            err=True,
        )
    typer.echo(
        f"{service}: {report.entries} audit entries, head entry {report.head_entry} "
        f"{report.head_hash}, {report.checkpoints_compared} checkpoint(s) compared, "
        + ("intact" if report.intact else f"{len(report.problems)} problem(s)")
    )


def _audit_checkpoint(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    path = settings.audit_checkpoint_file
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
        with sessions() as session, session.begin():
            written = audit_checkpoints.write(session, path, now=datetime.now(UTC))
    except OSError as error:
        typer.echo(f"{manifest.name}: cannot write {path}: {error.strerror}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(
        f"{manifest.name}: checkpoint entry {written.entry} ({written.count} entries) "
        f"{written.mac} written to {path} and queued as an audit.checkpoint event"
    )


def _checkpoint_if_moved(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    """The worker's checkpoint job, once, before serving: the trail as loaded is on file by the
    time the service answers (the worker's own first run then finds nothing new)."""
    job = audit_checkpoints.checkpoint_job(settings)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
        job.run(sessions, datetime.now(UTC))
    finally:
        engine.dispose()


def run_development(manifest: ServiceManifest[SettingsT], *, host: str, port: int) -> NoReturn:
    """`all-in-one`, also what `make run` runs in each process it forks: migrate (nothing when
    at head), load the reference data (nothing when loaded), then API, worker and relay."""
    settings = manifest.settings_class()
    _migrate(manifest, settings)
    _bootstrap(manifest, settings)
    _checkpoint_if_moved(manifest, settings)
    run_all_in_one(manifest, settings, host=host, port=port)
    # Everything is closed by now (API, relay, worker, engines, broker connections). The
    # interpreter's own teardown would garbage-collect every module and object one by one,
    # seconds on a busy machine, past the launcher's patience: leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def service_cli(manifest: ServiceManifest[SettingsT]) -> typer.Typer:
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
        run_development(manifest, host=host, port=port)

    @app.command("audit-verify")
    def audit_verify(
        checkpoints: Annotated[
            list[Path] | None,
            typer.Option(
                "--checkpoints",
                help="Another JSON lines file of checkpoints (a copy kept elsewhere, or "
                "audit.checkpoint event data); repeat for several",
            ),
        ] = None,
        checkpoint: Annotated[
            list[str] | None,
            typer.Option(
                "--checkpoint",
                help="A checkpoint noted elsewhere, ENTRY:MAC or ENTRY:COUNT:MAC; repeat for "
                "several",
            ),
        ] = None,
        expected_head: Annotated[
            str | None, typer.Option(help="Head MAC recorded earlier, to detect a cut tail")
        ] = None,
    ) -> None:
        """Recompute the audit chain with the MAC keys, compare it with the checkpoints (the
        checkpoint file and any given here) and name the first entry that differs."""
        settings = manifest.settings_class()
        known = _checkpoints(manifest.name, settings.audit_checkpoint_file, checkpoints, checkpoint)
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
            with sessions() as session:
                report = audit.verify(session, expected_head=expected_head, checkpoints=known)
        finally:
            engine.dispose()
        _print_report(manifest.name, report)
        raise typer.Exit(0 if report.intact else 1)

    @app.command("audit-checkpoint")
    def audit_checkpoint() -> None:
        """Write the audit chain head now: a line in the checkpoint file and an
        audit.checkpoint event (the worker also does this every AUDIT_CHECKPOINT_MINUTES)."""
        _audit_checkpoint(manifest, manifest.settings_class())

    return app
