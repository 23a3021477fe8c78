"""CDISC Controlled Terminology: the submission values Doseline writes, from one CT package.

`terminology.json` beside this module is the table (codelist code → name, extensibility and
its submission values with their NCI codes), entered from the CDISC SDTM CT package it names
(published by NCI EVS; its `source` says how). Define-XML's CodeLists are written from it,
and a value outside a non-extensible codelist is refused before any file is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("terminology.json")


@dataclass(frozen=True)
class Codelist:
    code: str
    name: str
    extensible: bool
    terms: dict[str, str | None]  # submission value → NCI term code (None: not recorded)


@dataclass(frozen=True)
class Terminology:
    version: str
    codelists: dict[str, Codelist]


@cache
def terminology() -> Terminology:
    raw = json.loads(TABLE.read_text(encoding="utf-8"))
    return Terminology(
        version=raw["version"],
        codelists={
            code: Codelist(code, entry["name"], entry["extensible"], dict(entry["terms"]))
            for code, entry in raw["codelists"].items()
        },
    )


def ct_version() -> str:
    """The CT package every codelist value comes from, e.g. "SDTM CT 2024-09-27"."""
    return terminology().version
