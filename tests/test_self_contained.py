"""The repository carries everything it runs and tests with: nothing reaches outside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from safety.dictionary import shipped

REPOSITORY = Path(__file__).resolve().parents[1]
# A path built to a folder beside the clone, or an environment variable pointing at one.
BESIDE = "shared"  # a folder next to a clone, which a user's machine does not have
OUTSIDE = re.compile(
    "|".join(
        (
            re.escape(f"../{BESIDE}"),
            f"DOSELINE_{BESIDE.upper()}",
            r"parents?\[\d\]\.parent\s*/",
            rf'\.parent\s*/\s*"{BESIDE}"',
        )
    )
)
CHECKED = (".py", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".sh", "Makefile", "run")


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [REPOSITORY / name for name in listed if name.endswith(CHECKED)]


def test_no_code_reads_anything_beside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
        for path in tracked_files()
        if path.is_file() and path.name != "test_self_contained.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_ctcae_dictionary_ships_inside_the_safety_package() -> None:
    workbook = shipped.workbook()
    assert workbook.is_relative_to(REPOSITORY / "services" / "safety" / "src" / "safety")
    assert (
        (workbook.parent / "SOURCE.md").read_text(encoding="utf-8").count(shipped.WORKBOOK_SHA256)
    )
