"""What each entry of a request is: a lab result to grade, a report or panel, or skipped, and why.

A DiagnosticReport's results and a panel's members (`hasMember` of an Observation that has no
value of its own) take the report's or panel's time when they have none. Results and members sent
as entries of the same Bundle are answered in their own entries; those only contained in the
report or panel are graded as part of its entry. Patients are how `Patient/<id>` subjects are
matched; every other resource (Encounter, Condition, MedicationRequest, …) is skipped with its
reason, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Literal

from doseline.fhir.bundles import Entry, contained_of, entries_of, index_of, keys_of, resolve
from doseline.fhir.identity import identity
from safety.ehr.reading import Fallback


@dataclass(frozen=True)
class Work:
    """One Observation to grade: a Bundle entry's, or one contained in a report or panel."""

    resource: dict[str, Any]
    full_url: str | None
    fallback: Fallback | None
    label: str
    """How the answer names it: 'Observation/<id>', or '#id of DiagnosticReport/<id>'."""

    @cached_property
    def key(self) -> tuple[str, str]:
        """Its id and version (doseline.fhir.identity)."""
        return identity(self.resource, full_url=self.full_url)


@dataclass(frozen=True)
class Planned:
    entry: Entry
    action: Literal["observation", "group", "skip"]
    reason: str = ""
    work: tuple[Work, ...] = ()
    """For an observation: itself; for a report or panel: its contained results."""
    in_bundle: int = 0
    """For a report or panel: how many of its results are entries of the Bundle."""
    unresolved: tuple[str, ...] = ()


@dataclass
class Plan:
    response_type: str | None
    items: list[Planned]
    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    patients: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    """Each Patient of the Bundle with the references that name it (fullUrl, 'Patient/id')."""


def _time(value: Any) -> datetime | date | None:
    """A report's effectiveDateTime or issued as FHIR writes it (validated later per result)."""
    if not isinstance(value, str):
        return None
    try:
        if "T" in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return date.fromisoformat(value)
    except ValueError:
        return None


def _group_time(resource: dict[str, Any], label: str) -> Fallback:
    period = resource.get("effectivePeriod")
    effective = _time(resource.get("effectiveDateTime")) or _time(resource.get("effectiveInstant"))
    if effective is None and isinstance(period, dict):
        effective = _time(period.get("start")) or _time(period.get("end"))
    issued = _time(resource.get("issued"))
    return Fallback(
        effective=effective,
        issued=issued if isinstance(issued, datetime) else None,
        source=label,
    )


def _is_panel(resource: dict[str, Any]) -> bool:
    has_value = any(key.startswith("value") for key in resource) or "dataAbsentReason" in resource
    return (
        resource.get("resourceType") == "Observation"
        and bool(resource.get("hasMember"))
        and not has_value
    )


def _label(resource: dict[str, Any], full_url: str | None) -> str:
    kind = resource.get("resourceType") or "resource"
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return f"{kind}/{rid}"
    return full_url or f"a {kind} without id"


def _references(resource: dict[str, Any]) -> list[str]:
    key = "result" if resource.get("resourceType") == "DiagnosticReport" else "hasMember"
    return [
        str(item["reference"])
        for item in resource.get(key) or []
        if isinstance(item, dict) and isinstance(item.get("reference"), str)
    ]


def plan(payload: dict[str, Any]) -> Plan:
    """A Bundle's entries, or a lone resource as a plan of one (response_type None)."""
    if payload.get("resourceType") == "Bundle":
        response_type, entries = entries_of(payload)
    else:
        response_type, entries = None, [Entry(index=0, full_url=None, resource=payload)]
    index = index_of(entries)
    fallbacks: dict[int, Fallback] = {}
    groups: dict[int, tuple[list[Work], int, list[str]]] = {}
    for entry in entries:
        resource = entry.resource
        if resource is None:
            continue
        kind = resource.get("resourceType")
        if kind != "DiagnosticReport" and not _is_panel(resource):
            continue
        label = _label(resource, entry.full_url)
        time = _group_time(resource, label)
        contained = contained_of(resource)
        own: list[Work] = []
        in_bundle = 0
        unresolved: list[str] = []
        for reference in _references(resource):
            if reference.startswith("#"):
                target = contained.get(reference)
                if target is None:
                    unresolved.append(reference)
                    continue
                report_id = resource.get("id") or "unidentified"
                own.append(
                    Work(
                        resource={
                            **target,
                            "id": f"{report_id}-{target['id']}"[:64],
                        },
                        full_url=None,
                        fallback=time,
                        label=f"{reference} of {label}",
                    )
                )
                continue
            target = resolve(reference, index)
            if target is None:
                unresolved.append(reference)
                continue
            in_bundle += 1
            fallbacks.setdefault(id(target), time)
        groups[entry.index] = (own, in_bundle, unresolved)
    items = [_planned(entry, fallbacks, groups) for entry in entries]
    patients = [
        (tuple(keys_of(entry)), entry.resource)
        for entry in entries
        if entry.resource is not None and entry.resource.get("resourceType") == "Patient"
    ]
    return Plan(response_type=response_type, items=items, index=index, patients=patients)


def _planned(
    entry: Entry,
    fallbacks: dict[int, Fallback],
    groups: dict[int, tuple[list[Work], int, list[str]]],
) -> Planned:
    resource = entry.resource
    if resource is None:
        return Planned(entry, "skip", "the entry carries no resource (a request without a body)")
    kind = resource.get("resourceType")
    if entry.index in groups:
        own, in_bundle, unresolved = groups[entry.index]
        return Planned(
            entry,
            "group",
            work=tuple(own),
            in_bundle=in_bundle,
            unresolved=tuple(unresolved),
        )
    if kind == "Patient":
        return Planned(entry, "skip", "Patient: used to match the subjects of this Bundle")
    if kind != "Observation":
        return Planned(
            entry,
            "skip",
            f"{kind or 'a resource without resourceType'} is not a laboratory result",
        )
    work = Work(
        resource=resource,
        full_url=entry.full_url,
        fallback=fallbacks.get(id(resource)),
        label=_label(resource, entry.full_url),
    )
    return Planned(entry, "observation", work=(work,))
