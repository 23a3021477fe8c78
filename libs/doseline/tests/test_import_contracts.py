"""The stdlib-only import contract breaks on a third-party import and keeps a pure package."""

from __future__ import annotations

from grimp import ImportGraph

from doseline.testing.import_contracts import StandardLibraryOnlyContract


def _graph(*imports: tuple[str, str]) -> ImportGraph:
    graph = ImportGraph()
    graph.add_module("rules")
    graph.add_module("rules.decide")
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="")
    return graph


def _contract(**options: object) -> StandardLibraryOnlyContract:
    return StandardLibraryOnlyContract(
        name="pure", session_options={}, contract_options={"package": "rules", **options}
    )


def test_standard_library_and_own_modules_keep_the_contract() -> None:
    graph = _graph(("rules.decide", "fractions"), ("rules.decide", "rules"))
    assert _contract().check(graph, verbose=False).kept


def test_a_third_party_import_breaks_it_and_is_named() -> None:
    check = _contract().check(_graph(("rules.decide", "pydantic")), verbose=False)
    assert not check.kept
    assert check.metadata["offenders"] == [
        {"module": "rules.decide", "imported": "pydantic", "lines": [3]}
    ]


def test_an_allowed_package_is_accepted() -> None:
    graph = _graph(("rules.decide", "numpy"))
    assert _contract(allowed=["numpy"]).check(graph, verbose=False).kept
