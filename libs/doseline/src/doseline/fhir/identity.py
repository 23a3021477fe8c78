"""Which resource, which version: identity as feeds really send it.

Many feeds omit `meta.versionId`. A resource is identified by its id (else its Bundle entry's
fullUrl, else a hash of its content) and its version by meta.versionId, else meta.lastUpdated,
else a hash of its content — so that a resend of the same content is recognised as a resend, and
changed content under the same id is a new version. The content hash leaves out what a server
may rewrite without changing the clinical content (id, meta, narrative).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Final

# FHIR ids are at most 64 characters, and so are the columns that keep them.
MAX_ID: Final = 64


def content_hash(resource: dict[str, Any]) -> str:
    """SHA-256 of the clinical content: the resource without id, meta and narrative."""
    content = {key: value for key, value in resource.items() if key not in ("id", "meta", "text")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def resource_id(resource: dict[str, Any], *, full_url: str | None = None) -> str:
    given = _text(resource.get("id"))
    if given is None and full_url and len(full_url) <= MAX_ID:
        given = full_url
    return (given or f"sha256:{content_hash(resource)[:56]}")[:MAX_ID]


def version_of(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    if (version := _text(meta.get("versionId"))) is not None:
        return version[:MAX_ID]
    if (updated := _text(meta.get("lastUpdated"))) is not None:
        return f"lastUpdated {updated}"[:MAX_ID]
    return f"sha256:{content_hash(resource)[:56]}"


def identity(resource: dict[str, Any], *, full_url: str | None = None) -> tuple[str, str]:
    """(id, version) of a resource as its feed identifies it."""
    return resource_id(resource, full_url=full_url), version_of(resource)


_LAST_UPDATED = "lastUpdated "


def is_older(offered: str, recorded: str) -> bool:
    """Whether version `offered` is older than `recorded`, as far as versions can be ordered.

    versionIds that count (1, 2, …) compare as numbers, and lastUpdated versions as instants;
    content hashes, or versions of different kinds, cannot be ordered and are never older."""
    if offered.isdigit() and recorded.isdigit():
        return int(offered) < int(recorded)
    if offered.startswith(_LAST_UPDATED) and recorded.startswith(_LAST_UPDATED):
        try:
            return _instant(offered.removeprefix(_LAST_UPDATED)) < _instant(
                recorded.removeprefix(_LAST_UPDATED)
            )
        except (ValueError, TypeError):
            # An unreadable or a naive time next to an aware one: not comparable.
            return False
    return False


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# LOINC as code systems name it: FHIR's canonical URI, and the forms feeds converted from HL7 v2
# and CDA carry (the OID, https, a trailing slash).
LOINC_SYSTEMS: Final = frozenset(
    {
        "http://loinc.org",
        "http://loinc.org/",
        "https://loinc.org",
        "https://loinc.org/",
        "urn:oid:2.16.840.1.113883.6.1",
    }
)


def is_loinc(system: object) -> bool:
    """Whether a Coding.system names LOINC, in any of the forms feeds send."""
    return isinstance(system, str) and system.strip() in LOINC_SYSTEMS
