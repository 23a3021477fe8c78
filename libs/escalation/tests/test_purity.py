"""The escalation package imports nothing but the standard library and itself (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import escalation

PACKAGE = Path(escalation.__file__).resolve().parent


def imported_top_level_names(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_imports_only_the_standard_library_or_the_package() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 10
    foreign = {
        f"{module.relative_to(PACKAGE)}: {name}"
        for module in modules
        for name in imported_top_level_names(module)
        if name not in sys.stdlib_module_names and name != "escalation"
    }
    assert foreign == set()


def test_the_check_would_see_a_third_party_import(tmp_path: Path) -> None:
    module = tmp_path / "impure.py"
    module.write_text("import os\nfrom pydantic import BaseModel\nfrom . import rules\n")
    assert imported_top_level_names(module) == {"os", "pydantic"}
