"""The layer contracts of pyproject.toml hold, cover every use-case package, and bite.

Each service's use-case packages are layered: endpoints and tasks, then service, then repository,
then models (`[tool.importlinter]`, one `layers` contract per service). A second contract forbids
any endpoint to import any repository, its own or another package's. Enrollment's use-case
packages are also ordered among themselves, with the workflows that span them on top. These
tests run the contracts from pyproject.toml through import-linter on the real import graph, then
on copies of it with one offending import added, so a contract that stopped matching would fail
here too.
"""

from __future__ import annotations

import tomllib
from copy import deepcopy
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
ROOT_PACKAGES: list[str] = CONFIG["root_packages"]
CONTRACTS: list[dict[str, Any]] = CONFIG["contracts"]
# The layer names a use-case package is recognised by.
LAYER_MODULES = ("endpoints", "service", "repository")
# Packages still outside the layers, with the reason; each one is named in pyproject.toml too.
ENDPOINT_RULE = "Endpoints never import a repository (call one service function)"
ENROLLMENT_ORDER = "enrollment: use-case packages in one order, workflows on top"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    configuration.configure()  # what `lint-imports` sets up before it checks contracts
    return grimp.build_graph(*ROOT_PACKAGES, include_external_packages=True, cache_dir=None)


def _contract(name: str) -> Contract:
    (options,) = [dict(c) for c in CONTRACTS if c["name"] == name]
    kind = options.pop("type")
    options.pop("name")
    options = {key: [str(v) for v in value] if isinstance(value, list) else str(value)
               for key, value in options.items()}  # fmt: skip
    contract_type = {"layers": LayersContract, "forbidden": ForbiddenContract}[kind]
    return contract_type(
        name=name, session_options={"root_packages": ROOT_PACKAGES}, contract_options=options
    )


def _layer_contracts() -> dict[str, dict[str, Any]]:
    """The service each per-package layers contract (endpoints, service, repository, models)
    is for, by the root package of its containers."""
    by_service: dict[str, dict[str, Any]] = {}
    for contract in CONTRACTS:
        if contract["type"] == "layers" and "service" in contract["layers"]:
            (service,) = {container.split(".")[0] for container in contract["containers"]}
            by_service[service] = contract
    return by_service


def _use_case_packages(service: str) -> set[str]:
    """Packages of the service's source tree that hold an endpoints, service or repository."""
    src = ROOT / "services" / service / "src" / service
    return {
        f"{service}.{package.name}"
        for package in src.iterdir()
        if package.is_dir() and any((package / f"{m}.py").exists() for m in LAYER_MODULES)
    }


def _kept(contract: Contract, graph: grimp.ImportGraph) -> bool:
    """Whether `contract` holds, checked on a copy: a contract removes the imports it ignores
    from the graph it checks (`lint-imports` hands each contract a copy too)."""
    return contract.check(deepcopy(graph), verbose=False).kept


def _kept_with_import(
    contract: Contract, graph: grimp.ImportGraph, importer: str, imported: str
) -> bool:
    """Whether `contract` holds once `importer` imports `imported` (the graph is restored)."""
    assert not graph.direct_import_exists(importer=importer, imported=imported)
    graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    try:
        return _kept(contract, graph)
    finally:
        graph.remove_import(importer=importer, imported=imported)


def test_every_layer_and_endpoint_contract_is_kept(graph: grimp.ImportGraph) -> None:
    names = [c["name"] for c in _layer_contracts().values()] + [ENDPOINT_RULE]
    broken = [name for name in names if not _contract(name).check(graph, verbose=False).kept]
    assert broken == []


def test_every_service_has_a_layers_contract() -> None:
    assert {"enrollment", "safety", "imaging", "notifications"} <= set(_layer_contracts())


@pytest.mark.parametrize("service", sorted(_layer_contracts()))
def test_the_layers_contract_covers_every_use_case_package_of_its_service(service: str) -> None:
    containers = set(_layer_contracts()[service]["containers"])
    assert containers == _use_case_packages(service)


def _exists(module: str) -> bool:
    service = module.split(".", maxsplit=1)[0]
    return (ROOT / "services" / service / "src" / f"{module.replace('.', '/')}.py").exists()


# Every endpoints module with every repository of its service, its own package's and others'.
ENDPOINT_IMPORTS = [
    (f"{container}.endpoints", f"{other}.repository")
    for contract in _layer_contracts().values()
    for container in contract["containers"]
    for other in contract["containers"]
    if _exists(f"{container}.endpoints") and _exists(f"{other}.repository")
]


@pytest.mark.parametrize(("endpoints", "repository"), ENDPOINT_IMPORTS)
def test_an_endpoint_importing_a_repository_breaks_the_contract(
    graph: grimp.ImportGraph, endpoints: str, repository: str
) -> None:
    assert not _kept_with_import(_contract(ENDPOINT_RULE), graph, endpoints, repository)


def test_a_repository_importing_its_service_breaks_the_layers(graph: grimp.ImportGraph) -> None:
    contracts = _layer_contracts()
    for importer, imported in [
        ("enrollment.cohorts.repository", "enrollment.cohorts.service"),
        ("enrollment.escalation_state.service", "enrollment.escalation_state.tasks"),
        ("safety.adverse_events.repository", "safety.adverse_events.service"),
        ("imaging.assessments.models", "imaging.assessments.repository"),
        ("notifications.subscriptions.service", "notifications.subscriptions.endpoints"),
    ]:
        contract = _contract(contracts[importer.split(".")[0]]["name"])
        assert contract.check(graph, verbose=False).kept
        assert not _kept_with_import(contract, graph, importer, imported)


def test_dlt_adjudication_breaks_its_contract_by_reading_adverse_events(
    graph: grimp.ImportGraph,
) -> None:
    contract = _contract("DLT adjudication never imports adverse events")
    assert contract.check(graph, verbose=False).kept
    assert not _kept_with_import(
        contract, graph, "safety.adjudication.service", "safety.adverse_events.repository"
    )


def test_enrollment_use_case_packages_keep_their_order(graph: grimp.ImportGraph) -> None:
    assert _kept(_contract(ENROLLMENT_ORDER), graph)


# An import up the order, each one a step a lower domain once started in a higher one itself.
UPWARD_IMPORTS = [
    ("enrollment.trials.service", "enrollment.cohorts.service"),
    ("enrollment.subjects.service", "enrollment.escalation_state.service"),
    ("enrollment.screening.service", "enrollment.cohorts.repository"),
    ("enrollment.cohorts.service", "enrollment.escalation_state.repository"),
    ("enrollment.dlt_windows.service", "enrollment.dosing.repository"),
    ("enrollment.dose_orders.service", "enrollment.dosing.service"),
    ("enrollment.dosing.service", "enrollment.deviations.service"),
    ("enrollment.visits.service", "enrollment.escalation_state.service"),
    ("enrollment.escalation_state.service", "enrollment.workflows.late_facts"),
]


@pytest.mark.parametrize(("importer", "imported"), UPWARD_IMPORTS)
def test_an_import_up_the_enrollment_order_breaks_it(
    graph: grimp.ImportGraph, importer: str, imported: str
) -> None:
    assert not _kept_with_import(_contract(ENROLLMENT_ORDER), graph, importer, imported)


def test_entry_points_may_call_the_workflows_above_their_package(
    graph: grimp.ImportGraph,
) -> None:
    assert graph.direct_import_exists(
        importer="enrollment.trials.endpoints", imported="enrollment.workflows.trials"
    )
    assert _kept_with_import(
        _contract(ENROLLMENT_ORDER),
        graph,
        "enrollment.cohorts.tasks",
        "enrollment.workflows.dlt_windows",
    )


def test_a_new_enrollment_package_must_be_placed_in_the_order(graph: grimp.ImportGraph) -> None:
    graph.add_module("enrollment.labs")
    try:
        assert not _kept(_contract(ENROLLMENT_ORDER), graph)
    finally:
        graph.remove_module("enrollment.labs")
