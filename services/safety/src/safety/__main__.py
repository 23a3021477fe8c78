"""`python -m safety migrate|api|worker|relay|bootstrap|audit-verify|ctcae-import|…`.

`grading-agreement` grades a CSV of lab cases against their expected grades; `loinc-coverage`
lists each graded CTCAE term with the LOINC codes that feed it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from doseline.db import make_engine
from doseline.errors import DoselineError
from doseline.service_cli import service_cli
from safety.catalogue import service as catalogue
from safety.ehr.loinc import codes_by_term
from safety.grading.agreement import CaseFileError, agreement, read_cases, render
from safety.grading.lab_criteria import CRITERIA
from safety.manifest import SERVICE

app = service_cli(SERVICE)


@app.command("ctcae-import")
def ctcae_import(
    path: Annotated[Path, typer.Argument(help="NCI CTCAE workbook (.xlsx) or its CSV export")],
    version: Annotated[
        str | None,
        typer.Option(help="CTCAE version label, e.g. 5.0 (read from the file if absent)"),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace a stored version imported from a different file")
    ] = False,
) -> None:
    """Import a CTCAE dictionary version (idempotent: the same file twice changes nothing)."""
    settings = SERVICE.settings_class()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with Progress(
            TextColumn("[bold]CTCAE[/bold] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task(path.name, total=None)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            with (
                SERVICE.schema.session_factory(
                    engine, audit_keys=settings.audit_keyring
                )() as session,
                session.begin(),
            ):
                outcome = catalogue.import_file(
                    session,
                    path,
                    version=version,
                    replace=replace,
                    actor="cli <ctcae-import>",
                    on_progress=on_progress,
                )
    except DoselineError as error:
        typer.echo(f"safety: {error.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(
        f"safety: CTCAE v{outcome.version} {outcome.status}: {outcome.term_count} terms in "
        f"{outcome.soc_count} SOCs (sha256 {outcome.source_sha256})"
    )


@app.command("grading-agreement")
def grading_agreement(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV of cases: term, value, unit, expected_grade [, lln, uln, baseline, "
            "baseline_normal, facts, case_id, note]"
        ),
    ],
) -> None:
    """Grade a CSV of lab cases and print, per term, where Doseline differs from the expected
    grade, with NCI's criterion text (exit status 1 when any case differs)."""
    try:
        report = agreement(read_cases(path.read_text(encoding="utf-8-sig")))
    except (CaseFileError, OSError, UnicodeDecodeError) as error:
        typer.echo(f"safety: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render(report))
    if report.differing or report.unreadable:
        raise typer.Exit(1)


class CoverageFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command("loinc-coverage")
def loinc_coverage(
    output: Annotated[
        CoverageFormat, typer.Option("--format", help="text for reading, json for tools")
    ] = CoverageFormat.TEXT,
) -> None:
    """List every graded CTCAE term with the LOINC codes that feed it (code, specimen,
    property, unit)."""
    coverage = codes_by_term()
    if output is CoverageFormat.JSON:
        terms = [
            {
                "term": term.value,
                "ctcae_term": CRITERIA[term].ctcae_term,
                "measurement": CRITERIA[term].measurement,
                "codes": [
                    {
                        "loinc": code.loinc,
                        "specimen": code.specimen,
                        "property": code.property,
                        "unit": code.unit,
                        "long_name": code.long_name,
                    }
                    for code in codes
                ],
            }
            for term, codes in coverage.items()
        ]
        typer.echo(json.dumps({"terms": terms}, indent=2, ensure_ascii=False))
        return
    for term, codes in coverage.items():
        criteria = CRITERIA[term]
        typer.echo(f"{criteria.ctcae_term} ({criteria.measurement}): {len(codes)} codes")
        for code in codes:
            typer.echo(
                f"  {code.loinc:<9} {code.specimen:<18} {code.property:<10} {code.unit:<15} "
                f"{code.long_name}"
            )


if __name__ == "__main__":
    app()
