"""The `doseline` entry point: `token mint` answers without loading the command framework.

    doseline run                          start everything (what `make run` does)
    doseline status                       what `make run` started: URLs, database, broker, readiness
    doseline token mint --role …          a development token
    doseline problems-catalogue           every problem type of every service (docs/problems.md)
    doseline <service> <command> …        a service's admin command (`doseline safety ctcae-import`,
                                          `doseline enrollment audit-verify`), run against the
                                          database and broker of the running `make run`

A token is minted with the standard library only (argparse, hmac), so `doseline token mint` and
`make token` answer in a fraction of a second; everything else goes to `doseline.commands`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from datetime import timedelta

from doseline.tokens import DEVELOPMENT_JWT_SECRET, Role, mint_token, site_list


def _mint_fast(argv: list[str]) -> int:
    """`doseline token mint …` without loading typer and rich: the same options, parsed by
    argparse, so a token costs one interpreter start and an HMAC (see `mint` for the help)."""
    parser = argparse.ArgumentParser(prog="doseline token mint", add_help=False)
    parser.add_argument("--role", action="append", choices=[role.value for role in Role])
    parser.add_argument("--subject", default="dev-user")
    parser.add_argument("--name")
    parser.add_argument("--sites", "--site", dest="site", action="append")
    parser.add_argument("--minutes", type=int, default=480)
    parser.add_argument("--secret", default=os.environ.get("DOSELINE_JWT_SECRET"))
    options, unknown = parser.parse_known_args(argv)
    if unknown or not options.role or not 1 <= options.minutes <= 12 * 60:
        return -1  # let typer explain what is wrong
    print(  # noqa: T201 (the token is the command's output)
        mint_token(
            subject=options.subject,
            name=options.name,
            roles=options.role,
            sites=site_list(options.site),
            lifetime=timedelta(minutes=options.minutes),
            secret=options.secret or DEVELOPMENT_JWT_SECRET,
        )
    )
    return 0


def main() -> None:
    if sys.argv[1:3] == ["token", "mint"] and "--help" not in sys.argv:
        with contextlib.redirect_stderr(io.StringIO()):
            try:
                code = _mint_fast(sys.argv[3:])
            except SystemExit:
                code = -1
        if code == 0:
            return
    from doseline.commands import run_app  # noqa: PLC0415 (typer and rich only when needed)

    run_app()
