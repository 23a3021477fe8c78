"""One definition of each cross-cutting rule, in the kit: a second implementation fails here.

Site-local dates (``doseline.sitetime``), CDISC study days (``doseline.sitetime``), the
electronic-signature re-authentication check (``doseline.signatures``) and the idempotent-create
machinery (``doseline.idempotency``) each live in one module. Services call them; this test reads
every production source file and fails, naming file and line, if code that computes one of them
appears anywhere else. Each pattern is also shown to match its own kit module, so a pattern that
stopped matching anything would fail too rather than pass silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIT = "libs/doseline/src/doseline"


@dataclass(frozen=True)
class Rule:
    name: str
    home: str
    patterns: tuple[str, ...]


RULES = (
    Rule(
        "site-local date and time",
        f"{KIT}/sitetime.py",
        (
            r"\bZoneInfo\(",
            r"\bimport\s+zoneinfo\b|\bfrom\s+zoneinfo\s+import\b",
            r"\.astimezone\(.*\)\.date\(\)",
        ),
    ),
    Rule(
        "study day",
        f"{KIT}/sitetime.py",
        (
            # day - first_infusion ... .days + 1, or the inverse first + timedelta(days=n - 1)
            r"\.days\s*\+\s*1\b",
            r"^def\s+_?study_(?:day|date)\b",
            r"timedelta\(\s*days\s*=\s*[\w.]+\s*-\s*1\s*(?:if\b[^)]*)?\)",
        ),
    ),
    Rule(
        "electronic-signature re-authentication",
        f"{KIT}/signatures.py",
        (
            r"\bauth_time\b\s*(?:<|>|-)|(?:<|>|-)\s*[\w.]*\bauth_time\b",
            r"insufficient_user_authentication",
        ),
    ),
    Rule(
        "idempotent create",
        f"{KIT}/idempotency.py",
        (r"\bidempotency_keys\b", r"Idempotent-Replayed", r"\brequest_hash\b"),
    ),
)

# Kit modules that legitimately *name* a table or claim the rules above are about: the table
# definition of the kit schema, the migration that creates the kit tables, the token parsing
# that reads the auth_time claim, and the SDTM model's study day, which delegates.
DECLARATIONS = {
    f"{KIT}/schema.py": {"idempotent create"},
    f"{KIT}/kit_migrations.py": {"idempotent create"},
    # The SDTM model's --DY helper (None without a reference start) calls sitetime.study_day.
    f"{KIT}/sdtm/__init__.py": {"study day"},
}


def _sources() -> list[Path]:
    roots = [ROOT / "libs", ROOT / "services"]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if "/src/" in path.as_posix()
        and "/migrations/" not in path.as_posix()
        and ".venv" not in path.parts
    )


def _hits(rule: Rule, path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        if any(re.search(pattern, code) for pattern in rule.patterns):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_rule_is_implemented_only_in_its_kit_module(rule: Rule) -> None:
    elsewhere = [
        hit
        for path in _sources()
        if path.relative_to(ROOT).as_posix() != rule.home
        and rule.name not in DECLARATIONS.get(path.relative_to(ROOT).as_posix(), set())
        for hit in _hits(rule, path)
    ]
    assert elsewhere == [], (
        f"a second implementation of {rule.name} (its one definition is {rule.home}):\n"
        + "\n".join(elsewhere)
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_pattern_finds_the_kit_implementation_itself(rule: Rule) -> None:
    home = ROOT / rule.home
    text = home.read_text(encoding="utf-8")
    for pattern in rule.patterns:
        assert re.search(pattern, text, re.MULTILINE), f"{pattern!r} no longer matches {rule.home}"


def test_the_scan_reads_every_service() -> None:
    scanned = {path.relative_to(ROOT).parts[:2] for path in _sources()}
    for service in ("enrollment", "safety", "imaging", "notifications"):
        assert ("services", service) in scanned
