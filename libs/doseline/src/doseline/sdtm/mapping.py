"""The mapping table of docs/sdtm.md: each SDTM variable and the source field it comes from,
rendered from the services' `Domain` metadata (the same metadata the files are written from).
`doseline sdtm-mapping` prints it; a test keeps the document's copy equal to it."""

from __future__ import annotations

from collections.abc import Iterable

from doseline.sdtm import Domain
from doseline.sdtm.define_xml import origins_of
from doseline.sdtm.merge import one_per_domain

START = "<!-- sdtm-mapping:start (doseline sdtm-mapping renders this table) -->"
END = "<!-- sdtm-mapping:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def mapping_table(domains: Iterable[Domain]) -> str:
    """A Markdown table: DOMAIN.VARIABLE, label, type, core, origin, source; by domain name.
    A domain two services build is one domain here, as in the package (doseline.sdtm.merge):
    a variable both give names each origin and source."""
    lines = [
        "| DOMAIN.VARIABLE | label | type | core | origin | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for domain in sorted(one_per_domain(domains), key=lambda found: found.name):
        for variable in domain.variables:
            found = origins_of(variable)
            kind = ", ".join(dict.fromkeys(kind for kind, _ in found))
            detail = "; ".join(detail for _, detail in found)
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
