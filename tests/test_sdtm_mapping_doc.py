"""docs/sdtm.md's mapping table is the one the installed services' SDTM metadata renders: a
domain or a variable changed in code changes the document, or this test fails. Every service
exporting SDTM declares its domains, and the document says its decisions for each."""

from __future__ import annotations

from doseline.manifest import installed_services
from doseline.sdtm import Domain
from doseline.sdtm.mapping import documented_table, mapping_table
from doseline.sdtm.merge import one_per_domain
from doseline.testing.plugin import repository_root

SERVICE_DOMAINS = {
    "enrollment": {"DM", "DS", "EX", "EC", "SV", "VS", "TA", "TE", "TV", "TI", "TS"},
    "safety": {"AE", "SUPPAE", "LB"},
    "imaging": {"RE", "FT", "QS", "LB"},
}


def _domains() -> list[Domain]:
    return [d for manifest in installed_services().values() for d in manifest.sdtm_domains]


def _document() -> str:
    return (repository_root() / "docs" / "sdtm.md").read_text(encoding="utf-8")


def test_every_service_exporting_sdtm_declares_the_domains_it_builds() -> None:
    services = installed_services()
    for name, expected in SERVICE_DOMAINS.items():
        manifest = services[name]
        assert manifest.sdtm is not None
        assert {domain.name for domain in manifest.sdtm_domains} == expected, name
    for manifest in services.values():
        assert (manifest.sdtm is None) == (not manifest.sdtm_domains), manifest.name


def test_the_documented_mapping_table_is_the_one_the_services_declare() -> None:
    assert documented_table(_document()) == mapping_table(_domains()), (
        "docs/sdtm.md is out of date: replace its mapping table with `doseline sdtm-mapping`"
    )


def test_every_variable_of_every_domain_is_a_row_of_the_table() -> None:
    domains = _domains()
    rows = mapping_table(domains).splitlines()[2:]
    assert len(rows) == sum(len(domain.variables) for domain in one_per_domain(domains))
    assert sum(row.startswith("| LB.LBTESTCD |") for row in rows) == 1
    assert any(row.startswith("| EX.EXDOSE | Dose | float | Exp | Collected |") for row in rows)
    assert any(row.startswith("| AE.AETOXGR |") and "(CT " not in row for row in rows)
    assert any(row.startswith("| RE.RETESTCD |") and row.endswith("(CT C111106) |") for row in rows)


def test_the_document_gives_the_decisions_of_safety_and_imaging_domains() -> None:
    document = _document()
    for name in sorted(SERVICE_DOMAINS["safety"] | SERVICE_DOMAINS["imaging"]):
        assert f"\n### {name}: " in document, f"docs/sdtm.md has no decisions section for {name}"
