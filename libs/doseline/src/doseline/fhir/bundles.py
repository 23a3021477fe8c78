"""Bundles as EHRs send them: entries, the resources they carry, and references between them.

Bundles of type batch, transaction, collection and searchset are read entry by entry; each type
is answered with the response type FHIR gives it (a transaction with a transaction-response,
every other with a batch-response). A transaction is not all-or-nothing here: each entry is
answered on its own, because EHR feeds use transactions as an envelope for unrelated results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from doseline.errors import InvalidInput
from doseline.problems import UNUSABLE_BUNDLE

RESPONSE_TYPES: Final = {
    "batch": "batch-response",
    "transaction": "transaction-response",
    "collection": "batch-response",
    "searchset": "batch-response",
}
MAX_ENTRIES: Final = 5000


@dataclass(frozen=True)
class Entry:
    index: int
    full_url: str | None
    resource: dict[str, Any] | None


def unusable(message: str) -> InvalidInput:
    return InvalidInput(message, problem=UNUSABLE_BUNDLE)


def entries_of(bundle: dict[str, Any]) -> tuple[str, list[Entry]]:
    """The response Bundle type and the entries, in order (an entry without a resource kept)."""
    kind = bundle.get("type")
    if kind not in RESPONSE_TYPES:
        raise unusable(
            f"Bundle.type {kind!r} is not read here; send a batch, transaction, collection or "
            "searchset Bundle"
        )
    raw = bundle.get("entry") or []
    if not isinstance(raw, list):
        raise unusable("Bundle.entry must be a list")
    if len(raw) > MAX_ENTRIES:
        raise unusable(f"the Bundle has {len(raw):,} entries; send at most {MAX_ENTRIES:,}")
    entries = []
    for index, raw_item in enumerate(raw):
        item = raw_item if isinstance(raw_item, dict) else {}
        resource = item.get("resource")
        full_url = item.get("fullUrl")
        entries.append(
            Entry(
                index=index,
                full_url=str(full_url) if isinstance(full_url, str) and full_url else None,
                resource=resource if isinstance(resource, dict) else None,
            )
        )
    return RESPONSE_TYPES[kind], entries


def keys_of(entry: Entry) -> list[str]:
    """How other entries may refer to this one: its fullUrl and its 'Type/id'."""
    keys = []
    resource = entry.resource or {}
    if entry.full_url:
        keys.append(entry.full_url)
    if resource.get("resourceType") and resource.get("id"):
        keys.append(f"{resource['resourceType']}/{resource['id']}")
    return keys


def index_of(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """The Bundle's resources by fullUrl and by 'Type/id' (the first entry wins a clash)."""
    index: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.resource is not None:
            for key in keys_of(entry):
                index.setdefault(key, entry.resource)
    return index


def contained_of(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A resource's contained resources by their local reference ('#id')."""
    return {
        f"#{item['id']}": item
        for item in resource.get("contained") or []
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
    }


def resolve(
    reference: str | None,
    index: dict[str, dict[str, Any]],
    contained: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The resource a reference points to: contained ('#id'), a fullUrl, 'Type/id', or an
    absolute URL ending in 'Type/id' (with or without a '_history' version)."""
    if not reference:
        return None
    if reference.startswith("#"):
        return (contained or {}).get(reference)
    if reference in index:
        return index[reference]
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2:
        return index.get(f"{parts[-2]}/{parts[-1]}")
    return None
