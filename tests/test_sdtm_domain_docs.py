"""docs/sdtm-domains-safety-imaging.md shows each domain's variables as the metadata says them."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseline.sdtm import Domain
from imaging.sdtm import domains as imaging
from safety.sdtm import domains as safety

DOC = Path(__file__).parents[1] / "docs" / "sdtm-domains-safety-imaging.md"
DOMAINS = (safety.AE, safety.SUPPAE, safety.LB, imaging.RE, imaging.FT, imaging.QS)


def mapping_table(domain: Domain) -> str:
    """The markdown table of a domain's variables: name, label, core, source, codelist."""
    rows = [
        "| variable | label | core | source | CT codelist |",
        "|---|---|---|---|---|",
    ]
    for variable in domain.variables:
        codelist = variable.codelist or ""
        rows.append(
            f"| {domain.name}.{variable.name} | {variable.label} | {variable.core} | "
            f"{variable.source} | {codelist} |"
        )
    return "\n".join(rows)


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda domain: domain.name)
def test_the_docs_table_of_each_domain_is_its_metadata(domain: Domain) -> None:
    assert mapping_table(domain) in DOC.read_text(encoding="utf-8"), (
        f"the {domain.name} table in {DOC.name} differs from safety/imaging sdtm.domains: "
        f"paste tests/test_sdtm_domain_docs.mapping_table({domain.name})"
    )
