"""`doseline`: development tokens and the `make run` launcher."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from doseline.auth import ALL_SITES, Role, mint_token
from doseline.events import SITE_ID_PATTERN
from doseline.launcher import main as launch
from doseline.settings import DEVELOPMENT_JWT_SECRET

app = typer.Typer(name="doseline", help="Doseline development commands.", no_args_is_help=True)
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
    """Print a signed development token."""
    typer.echo(
        mint_token(
            subject=subject,
            name=name,
            roles=role,
            sites=_site_list(sites),
            lifetime=timedelta(minutes=minutes),
            secret=secret or DEVELOPMENT_JWT_SECRET,
        )
    )


def _site_list(given: list[str] | None) -> list[str]:
    sites = [site.strip() for value in given or [] for site in value.split(",") if site.strip()]
    if not sites:
        return [ALL_SITES]
    for site in sites:
        if site != ALL_SITES and not re.fullmatch(SITE_ID_PATTERN, site):
            raise typer.BadParameter(f"{site!r} is not a site id", param_hint="--sites")
    return [ALL_SITES] if ALL_SITES in sites else sorted(set(sites))


@app.command()
def run() -> None:
    """Start everything locally (embedded database and broker unless DATABASE_URL / BROKER_URL)."""
    launch()


def main() -> None:
    app()
