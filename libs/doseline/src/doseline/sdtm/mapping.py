"""The mapping table of docs/sdtm.md: each SDTM variable and the source field it comes from,
rendered from the services' `Domain` metadata (the same metadata the files are written from).
`doseline sdtm-mapping` prints it; a test keeps the document's copy equal to it."""

from __future__ import annotations

from collections.abc import Iterable

from doseline.sdtm import Domain
from doseline.sdtm.define_xml import origin_of

START = "<!-- sdtm-mapping:start (doseline sdtm-mapping renders this table) -->"
END = "<!-- sdtm-mapping:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def mapping_table(domains: Iterable[Domain]) -> str:
    """A Markdown table: DOMAIN.VARIABLE, label, type, core, origin, source; by domain name."""
    lines = [
        "| DOMAIN.VARIABLE | label | type | core | origin | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for domain in sorted(domains, key=lambda found: found.name):
        for variable in domain.variables:
            kind, detail = origin_of(variable)
            codelist = f" (CT {variable.codelist})" if variable.codelist else ""
            lines.append(
                f"| {domain.name}.{variable.name} | {_cell(variable.label)} | "
                f"{variable.data_type} | {variable.core} | {kind} | {_cell(detail)}{codelist} |"
            )
    return "\n".join(lines) + "\n"


def documented_table(document: str) -> str:
    """The table between the markers of docs/sdtm.md."""
    start, end = document.index(START) + len(START), document.index(END)
    return document[start:end].strip("\n") + "\n"
