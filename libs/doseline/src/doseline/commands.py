"""`doseline`: the one command for a running Doseline.

    doseline run                          start everything (what `make run` does)
    doseline status                       what `make run` started: URLs, database, broker, readiness
    doseline token mint --role …          a development token
    doseline problems-catalogue           every problem type of every service (docs/problems.md)
    doseline <service> <command> …        a service's admin command (`doseline safety ctcae-import`,
                                          `doseline enrollment audit-verify`), run against the
                                          database and broker of the running `make run`
    doseline sdtm-package --trial … --data-cut … --out …
                                          the trial's CDISC SDTM package from every service's data
    doseline sdtm-mapping                 the mapping table of docs/sdtm.md

The typer application; `doseline.cli` is the light entry point in front of it.
"""

from __future__ import annotations

import os
import runpy
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer

from doseline import instance as instances
from doseline.tokens import DEVELOPMENT_JWT_SECRET, Role, mint_token, site_list

SERVICES_GROUP = "doseline.services"  # the entry-point group of doseline.manifest

app = typer.Typer(
    name="doseline",
    help="Doseline: start it, see what runs, mint development tokens, run a service's admin "
    "commands against the running instance.",
    no_args_is_help=True,
)
token_app = typer.Typer(help="Development tokens (HS256, the local key).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("mint")
def mint(
    role: Annotated[list[Role], typer.Option(help="Role(s) to grant; repeat for several")],
    subject: Annotated[str, typer.Option(help="User id (the token's sub)")] = "dev-user",
    name: Annotated[str | None, typer.Option(help="Display name for audit trails")] = None,
    sites: Annotated[
        list[str] | None,
        typer.Option(
            "--sites",
            "--site",
            help=(
                "Site id(s) the person acts for (the token's `sites` claim): repeat the option or"
                " separate with commas; '*' for every site (sponsor-wide). Default '*'."
            ),
        ),
    ] = None,
    minutes: Annotated[
        int, typer.Option(min=1, max=12 * 60, help="Lifetime (services refuse more than 12 h)")
    ] = 480,
    secret: Annotated[
        str | None, typer.Option(envvar="DOSELINE_JWT_SECRET", help="Signing key (dev default)")
    ] = None,
) -> None:
    """Print a signed development token (its sign-in time is now: good for a signature)."""
    try:
        claimed = site_list(sites)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--sites") from None
    typer.echo(
        mint_token(
            subject=subject,
            name=name,
            roles=role,
            sites=claimed,
            lifetime=timedelta(minutes=minutes),
            secret=secret or DEVELOPMENT_JWT_SECRET,
        )
    )


@app.command()
def run() -> None:
    """Start everything locally (embedded database and broker unless DATABASE_URL / BROKER_URL)."""
    from doseline.launcher import main as launch  # noqa: PLC0415 (the web stack only when used)

    launch()


def _readiness(base_url: str) -> str:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:  # noqa: S310
            return "ready" if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"not ready (HTTP {error.code})"
    except OSError:
        return "not answering"


@app.command()
def status() -> None:
    """The running instance: service URLs, database and broker URLs, each service's readiness."""
    state = instances.state_dir()
    found = instances.read(state)
    if found is None:
        typer.echo(
            f"doseline: nothing running here (no {state / instances.INSTANCE_FILE}); "
            "start `make run`"
        )
        raise typer.Exit(1)
    if not found.is_alive():
        typer.echo(
            f"doseline: make run (pid {found.pid}) is no longer running; "
            f"{state / instances.INSTANCE_FILE} is left from it. Start `make run`"
        )
        raise typer.Exit(1)
    typer.echo(f"make run: {found.status} (pid {found.pid}, started {found.started_at})")
    typer.echo(f"  root        {found.root}")
    typer.echo(f"  database    {found.database_url}  ({found.database})")
    typer.echo(f"  broker      {found.broker_url}  ({found.broker})")
    answers = {name: _readiness(url) for name, url in found.services.items()}
    for name, url in found.services.items():
        typer.echo(f"  {name:<14}{url}  {answers[name]}  (docs {url}/docs)")
    raise typer.Exit(0 if all(answer == "ready" for answer in answers.values()) else 1)


@app.command("problems-catalogue")
def problems_catalogue(
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output")
    ] = None,
) -> None:
    """Print every problem type of every installed service (Markdown, for docs/problems.md)."""
    from doseline.manifest import installed_services  # noqa: PLC0415 (loads every service)
    from doseline.problem_docs import render_problem_catalogue  # noqa: PLC0415

    text = render_problem_catalogue(installed_services())
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


def _service_names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=SERVICES_GROUP))


def _run_service_command(service: str, args: list[str]) -> None:
    """Run `python -m <service> <args>` in this process against the running instance."""
    wants_help = not args or "--help" in args
    state = instances.state_dir()
    found = instances.read(state)
    if found is not None:
        if found.database == "embedded" and not found.is_alive() and not wants_help:
            typer.echo(
                f"doseline: the embedded database runs only while `make run` does, and make run "
                f"(pid {found.pid}) has stopped; start `make run` first",
                err=True,
            )
            raise typer.Exit(1)
        for key, value in found.service_env(service).items():
            os.environ.setdefault(key, value)
    else:
        prefix = f"{service.upper()}_"
        for name in ("DATABASE_URL", "BROKER_URL"):
            if os.environ.get(name):
                os.environ.setdefault(prefix + name, os.environ[name])
        if not os.environ.get(prefix + "DATABASE_URL") and not wants_help:
            typer.echo(
                f"doseline: no running `make run` found ({state / instances.INSTANCE_FILE}) and "
                f"neither DATABASE_URL nor {prefix}DATABASE_URL is set; using {service}'s defaults",
                err=True,
            )
    os.environ.setdefault(f"{service.upper()}_LOG_JSON", "false")
    sys.argv = [f"doseline {service}", *args]
    runpy.run_module(service, run_name="__main__", alter_sys=True)


def _reach_running_instance(services: list[str]) -> None:
    """Point each service's DATABASE_URL at the running `make run` (or at DATABASE_URL)."""
    state = instances.state_dir()
    found = instances.read(state)
    if found is not None and found.database == "embedded" and not found.is_alive():
        typer.echo(
            f"doseline: the embedded database runs only while `make run` does, and make run "
            f"(pid {found.pid}) has stopped; start `make run` first",
            err=True,
        )
        raise typer.Exit(1)
    for service in services:
        if found is not None:
            for key, value in found.service_env(service).items():
                os.environ.setdefault(key, value)
        elif os.environ.get("DATABASE_URL"):
            os.environ.setdefault(f"{service.upper()}_DATABASE_URL", os.environ["DATABASE_URL"])
        elif not os.environ.get(f"{service.upper()}_DATABASE_URL"):
            typer.echo(
                f"doseline: no running `make run` found ({state / instances.INSTANCE_FILE}) and "
                f"neither DATABASE_URL nor {service.upper()}_DATABASE_URL is set; using "
                f"{service}'s defaults",
                err=True,
            )


def _data_cut(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date-time (e.g. 2026-06-30T23:59:59Z)",
            param_hint="--data-cut",
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(
            "give the data cut's time zone (Z or +08:00): a cut is one instant",
            param_hint="--data-cut",
        )
    return moment


@app.command("sdtm-package")
def sdtm_package(
    trial: Annotated[str, typer.Option(help="The trial's id (its code, e.g. HDMSC-RP-01)")],
    data_cut: Annotated[
        str, typer.Option(help="ISO 8601 instant the export describes, e.g. 2026-06-30T23:59:59Z")
    ],
    out: Annotated[Path, typer.Option(help="Directory to write (absent or empty)")],
) -> None:
    """Write the trial's CDISC SDTM package (Dataset-JSON, XPT, define.xml, manifest.json) from
    every installed service's data as it stood at the data cut."""
    at = _data_cut(data_cut)
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415 (the web stack when used)

    from doseline.manifest import installed_services  # noqa: PLC0415
    from doseline.sdtm import DataCut  # noqa: PLC0415
    from doseline.sdtm.export import export_package  # noqa: PLC0415

    services = installed_services()
    _reach_running_instance(
        [name for name, m in services.items() if m.sdtm is not None or m.sdtm_study is not None]
    )
    try:
        manifest = export_package(services, DataCut(trial, at), out)
    except FileExistsError as error:
        raise typer.BadParameter(str(error), param_hint="--out") from None
    except LookupError as error:
        raise typer.BadParameter(str(error), param_hint="--trial") from None
    except OperationalError as error:
        typer.echo(f"doseline: cannot reach a service's database: {error.orig}", err=True)
        raise typer.Exit(1) from None
    except ValueError as error:  # data the standards cannot take: nothing was written
        typer.echo(f"doseline: no package written: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"doseline: SDTM package of {trial} at {at.isoformat()} written; see {manifest}")


@app.command("sdtm-mapping")
def sdtm_mapping() -> None:
    """Print the SDTM mapping table (source field -> DOMAIN.VARIABLE) of every installed
    service's domains, as docs/sdtm.md shows it."""
    from doseline.manifest import installed_services  # noqa: PLC0415 (the web stack when used)
    from doseline.sdtm.mapping import mapping_table  # noqa: PLC0415

    domains = [d for manifest in installed_services().values() for d in manifest.sdtm_domains]
    typer.echo(mapping_table(domains), nl=False)


def _forwarder(service: str) -> Callable[[typer.Context], None]:
    def forward(ctx: typer.Context) -> None:
        _run_service_command(service, list(ctx.args))

    return forward


def _add_service_commands() -> None:
    for service in _service_names():
        app.command(
            service,
            help=f"{service}'s admin commands against the running instance "
            f"(`doseline {service} --help` lists them).",
            context_settings={
                "allow_extra_args": True,
                "ignore_unknown_options": True,
                "help_option_names": [],
            },
        )(_forwarder(service))


def run_app() -> None:
    _add_service_commands()
    app()
