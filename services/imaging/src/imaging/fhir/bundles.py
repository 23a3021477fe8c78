"""FHIR Bundles as EHRs send them: which entries are outcomes, panel members, or skipped, and why.

Bundles of type batch, transaction, collection and searchset are read entry by entry. An
Observation whose code is an outcome (observations.kind_of_code) is recorded; the Observations a
recorded panel names in `hasMember` are part of it and answered as such, not recorded twice;
every other entry (Patient, Condition, vital signs, laboratory results that are not outcomes) is
skipped with its reason. Patients in the Bundle are how the Observations' `Patient/<id>`
subjects are matched. A transaction is not all-or-nothing here: each entry is answered on its
own, because EHR feeds use transactions as an envelope for unrelated results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from doseline.fhir.bundles import Entry, entries_of, index_of, resolve
from doseline.fhir.identity import is_loinc
from imaging.fhir.observations import kind_of_code


@dataclass(frozen=True)
class Planned:
    entry: Entry
    action: Literal["outcome", "member", "skip"]
    reason: str = ""
    panel: str | None = None
    """For a member: the reference of the panel it belongs to."""


@dataclass(frozen=True)
class Plan:
    response_type: str
    items: tuple[Planned, ...]
    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Resources of the Bundle by fullUrl and by 'Type/id'."""


def _code(resource: dict[str, Any]) -> tuple[str | None, str]:
    codings = (resource.get("code") or {}).get("coding") or []
    for coding in codings:
        if isinstance(coding, dict) and is_loinc(coding.get("system")) and coding.get("code"):
            return str(coding["code"]), str(coding.get("display") or "")
    return None, ""


def plan(bundle: dict[str, Any]) -> Plan:
    response_type, entries = entries_of(bundle)
    index = index_of(entries)
    member_of: dict[int, str] = {}
    for entry in entries:
        resource = entry.resource or {}
        code, _ = _code(resource)
        if resource.get("resourceType") != "Observation" or code is None:
            continue
        if kind_of_code(code) is None:
            continue
        panel = entry.full_url or f"Observation/{resource.get('id')}"
        for member in resource.get("hasMember") or []:
            target = resolve((member or {}).get("reference"), index)
            if target is not None:
                member_of[id(target)] = panel
    items = [_planned(entry, member_of) for entry in entries]
    return Plan(response_type=response_type, items=tuple(items), index=index)


def _planned(entry: Entry, member_of: dict[int, str]) -> Planned:
    resource = entry.resource
    if resource is None:
        return Planned(entry, "skip", "the entry carries no resource (a request without a body)")
    kind = resource.get("resourceType")
    if kind == "Patient":
        return Planned(entry, "skip", "Patient: used to match the subjects of this Bundle")
    if kind != "Observation":
        return Planned(
            entry, "skip", f"{kind or 'a resource without resourceType'} is not an Observation"
        )
    if id(resource) in member_of:
        panel = member_of[id(resource)]
        return Planned(entry, "member", f"a member of panel {panel}, recorded with it", panel)
    code, display = _code(resource)
    if code is None:
        return Planned(entry, "skip", "the Observation has no LOINC code")
    if kind_of_code(code) is None:
        shown = f"LOINC {code}" + (f" ({display.strip()})" if display.strip() else "")
        return Planned(
            entry,
            "skip",
            f"{shown} is not an outcome this service records (lung function, arterial blood "
            "gas, six-minute walk)",
        )
    return Planned(entry, "outcome")
