"""docs/sdtm.md's mapping table is the one the installed services' SDTM metadata renders: a
domain or a variable changed in code changes the document, or this test fails."""

from __future__ import annotations

from doseline.manifest import installed_services
from doseline.sdtm.mapping import documented_table, mapping_table
from doseline.testing.plugin import repository_root


def test_the_documented_mapping_table_is_the_one_the_services_declare() -> None:
    domains = [d for manifest in installed_services().values() for d in manifest.sdtm_domains]
    assert {domain.name for domain in domains} >= {"DM", "DS", "EX", "SV", "VS", "TS"}
    document = (repository_root() / "docs" / "sdtm.md").read_text(encoding="utf-8")
    assert documented_table(document) == mapping_table(domains), (
        "docs/sdtm.md is out of date: replace its mapping table with `doseline sdtm-mapping`"
    )


def test_every_variable_of_every_domain_is_a_row_of_the_table() -> None:
    domains = [d for manifest in installed_services().values() for d in manifest.sdtm_domains]
    rows = mapping_table(domains).splitlines()[2:]
    assert len(rows) == sum(len(domain.variables) for domain in domains)
    assert any(row.startswith("| EX.EXDOSE | Dose | float | Exp | Collected |") for row in rows)
