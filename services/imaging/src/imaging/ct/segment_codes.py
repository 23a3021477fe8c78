"""Which segments are lung and which are lesion, from their coded meaning or their label name.

The table is data (segment_codes.json beside this module): each SNOMED CT or DICOM concept with
its meaning, the role it plays in the protocol's p = V_lesion / V_lung (OUTCOMES.md §5.1), the
legacy SNOMED RT code older tools still write (dcmqi's "T-62000" style), and the label names
segmentation tools give the same structure in NIfTI label tables and sidecars (TotalSegmentator
writes "lung_upper_lobe_left"). A concept that is in neither role (liver, bone, airway) is
"other": present, declared, counted as neither.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib.resources import files
from typing import Any, Final

_SEPARATORS: Final = re.compile(r"[\s_\-]+")


class Role(Enum):
    LUNG = "lung"
    LESION = "lesion"


@dataclass(frozen=True)
class Concept:
    role: Role
    scheme: str
    code: str
    meaning: str


@dataclass(frozen=True)
class _Table:
    by_code: dict[tuple[str, str], Concept]
    by_name: dict[str, Concept]


def normalised_name(name: str) -> str:
    """Lower case, with runs of spaces, '_' and '-' as one space: 'Lung_Upper-Lobe left'."""
    return _SEPARATORS.sub(" ", name.strip().lower())


@cache
def _table() -> _Table:
    raw: dict[str, Any] = json.loads(
        files("imaging.ct").joinpath("segment_codes.json").read_text(encoding="utf-8")
    )
    by_code: dict[tuple[str, str], Concept] = {}
    by_name: dict[str, Concept] = {}
    for entry in raw["concepts"]:
        concept = Concept(Role(entry["role"]), entry["scheme"], entry["code"], entry["meaning"])
        for scheme, code in [[concept.scheme, concept.code], *entry["legacy"]]:
            by_code[(scheme, code)] = concept
        for name in (concept.meaning, *entry["names"]):
            by_name[normalised_name(name)] = concept
    return _Table(by_code=by_code, by_name=by_name)


def concept_of_code(scheme: str, code: str) -> Concept | None:
    """The lung or lesion concept of a coded segmented property type; None for anything else.

    "SNM3" and "99SDM" are older designators of SNOMED RT codes, read as "SRT".
    """
    scheme = "SRT" if scheme in ("SNM3", "99SDM") else scheme
    return _table().by_code.get((scheme, code))


def concept_of_name(name: str) -> Concept | None:
    """The lung or lesion concept a label name stands for; None for any other structure."""
    return _table().by_name.get(normalised_name(name))


def concepts() -> tuple[Concept, ...]:
    """Every concept of the table, once each, in the table's order."""
    seen: dict[tuple[str, str], Concept] = {}
    for concept in _table().by_code.values():
        seen.setdefault((concept.scheme, concept.code), concept)
    return tuple(seen.values())
