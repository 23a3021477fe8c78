"""One catalogue of problem types: every problem raised is declared once, with the status of the
class that raises it, served by its service at `/problems/{slug}` and listed in docs/problems.md.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doseline.errors import DoselineError, error_class
from doseline.manifest import ServiceManifest
from doseline.problem_docs import COMMAND, render_problem_catalogue
from doseline.problems import KIT, ProblemCatalogue, ProblemType

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = sorted([*REPOSITORY.glob("services/*/src"), *REPOSITORY.glob("libs/*/src")], key=str)


@dataclass(frozen=True)
class Source:
    path: Path
    module: str
    tree: ast.Module

    @property
    def where(self) -> str:
        return str(self.path.relative_to(REPOSITORY))


def _sources() -> list[Source]:
    found = []
    for root in SOURCE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if "migrations" in parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found.append(Source(path, ".".join(parts), tree))
    return found


SOURCES = _sources()


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a name or dotted name denotes in a module's globals (None if it is local)."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return None if owner is None else getattr(owner, node.attr, None)
    return None


@dataclass(frozen=True)
class RaiseSite:
    where: str
    kind: type[DoselineError]
    problem: ProblemType


def _raise_sites() -> Iterator[RaiseSite]:
    """Every `SomeError(..., problem=ENTRY)` (or `SomeError.at(...)`) whose class and entry are
    named at module level (a problem passed on as a parameter is checked where it is named)."""
    for source in SOURCES:
        calls = [
            node
            for node in ast.walk(source.tree)
            if isinstance(node, ast.Call) and any(k.arg == "problem" for k in node.keywords)
        ]
        if not calls:
            continue
        namespace = vars(importlib.import_module(source.module))
        for call in calls:
            kind = _resolve(call.func, namespace)
            kind = getattr(kind, "__self__", kind)  # a constructor classmethod: `.at(...)`
            named = next(k for k in call.keywords if k.arg == "problem").value
            problem = _resolve(named, namespace)
            if isinstance(problem, ProblemType):
                where = f"{source.where}:{call.lineno}"
                if not (isinstance(kind, type) and issubclass(kind, DoselineError)):
                    raise TypeError(f"{where}: {problem.slug} is raised by no error class")
                yield RaiseSite(where, kind, problem)


RAISE_SITES = list(_raise_sites())


def test_no_raise_site_spells_its_slug() -> None:
    """A slug is a catalogue entry's, never a string at the place that raises it."""
    spelt = []
    for source in SOURCES:
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Call):
                spelt += [
                    f"{source.where}:{node.lineno}"
                    for keyword in node.keywords
                    if keyword.arg == "slug" and isinstance(keyword.value, ast.Constant)
                ]
            if isinstance(node, ast.ClassDef):
                spelt += [
                    f"{source.where}:{statement.lineno} (class {node.name})"
                    for statement in node.body
                    if isinstance(statement, ast.Assign | ast.AnnAssign)
                    and isinstance(statement.value, ast.Constant)
                    and any(
                        isinstance(target, ast.Name) and target.id == "slug"
                        for target in (
                            statement.targets
                            if isinstance(statement, ast.Assign)
                            else [statement.target]
                        )
                    )
                ]
    assert not spelt, "declare the problem in a catalogue and raise it by name: " + ", ".join(spelt)


def test_the_raise_sites_are_found() -> None:
    assert len(RAISE_SITES) >= 40
    assert {site.kind.__name__ for site in RAISE_SITES} >= {"Conflict", "NotFound", "InvalidInput"}


@pytest.mark.parametrize("site", RAISE_SITES, ids=lambda site: site.where)
def test_each_problem_is_raised_through_the_class_of_its_status(site: RaiseSite) -> None:
    assert issubclass(site.kind, error_class(site.problem.status)), (
        f"{site.problem.slug} ({site.problem.status}) is raised as {site.kind.__name__} "
        f"({site.kind.default_problem.status})"
    )


def _error_classes() -> list[type[DoselineError]]:
    found: list[type[DoselineError]] = []
    pending: list[type[DoselineError]] = [DoselineError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return sorted(found, key=lambda kind: f"{kind.__module__}.{kind.__qualname__}")


@pytest.mark.parametrize(
    "kind", _error_classes(), ids=lambda kind: f"{kind.__module__}.{kind.__qualname__}"
)
def test_each_error_class_answers_the_status_of_its_kit_class(
    kind: type[DoselineError], services: dict[str, ServiceManifest]
) -> None:
    assert issubclass(kind, error_class(kind.default_problem.status))
    catalogues = [KIT, *(manifest.problems for manifest in services.values())]
    assert any(kind.default_problem in catalogue.own for catalogue in catalogues)


def _catalogue_module(catalogue: ProblemCatalogue) -> Any:
    """The module declaring `catalogue`: the kit's, or `<service>/problems.py`."""
    return importlib.import_module(
        "doseline.problems" if catalogue is KIT else f"{catalogue.scope}.problems"
    )


def test_every_declared_problem_is_raised_somewhere(services: dict[str, ServiceManifest]) -> None:
    """An entry nothing raises documents a problem no client will see."""
    names_used: set[str] = set()
    for source in SOURCES:
        if source.module.endswith(".problems"):
            continue
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Name):
                names_used.add(node.id)
            elif isinstance(node, ast.Attribute):
                names_used.add(node.attr)
            elif isinstance(node, ast.alias):
                names_used.add(node.asname or node.name)
    unused = []
    for catalogue in [KIT, *(manifest.problems for manifest in services.values())]:
        module = _catalogue_module(catalogue)
        names = {id(value): name for name, value in vars(module).items()}
        unused += [
            f"{catalogue.scope}: {entry.slug}"
            for entry in catalogue.own
            if names.get(id(entry)) not in names_used
        ]
    assert not unused


def test_each_services_catalogue_includes_the_kits_and_no_other(
    services: dict[str, ServiceManifest],
) -> None:
    for name, manifest in services.items():
        assert manifest.problems.scope == name
        assert manifest.problems.includes == (KIT,)


@pytest.mark.parametrize("name", ["enrollment", "safety", "imaging", "notifications"])
def test_each_service_answers_its_catalogue_and_every_problem_its_openapi_names(
    name: str, api: Callable[..., TestClient], services: dict[str, ServiceManifest]
) -> None:
    client = api(name)
    catalogue = services[name].problems
    listed = client.get("/problems").json()
    assert [entry["slug"] for entry in listed] == [entry.slug for entry in catalogue]
    document = client.get("/openapi.json").text
    named = set(re.findall(r"/problems/([a-z0-9-]+)", document))
    assert named <= {entry.slug for entry in catalogue}, named
    for slug in sorted(named):
        assert client.get(f"/problems/{slug}").status_code == 200


def test_docs_problems_md_is_the_rendered_catalogue(services: dict[str, ServiceManifest]) -> None:
    written = (REPOSITORY / "docs" / "problems.md").read_text(encoding="utf-8")
    assert written == render_problem_catalogue(services), (
        f"docs/problems.md is stale: run `{COMMAND}`"
    )
