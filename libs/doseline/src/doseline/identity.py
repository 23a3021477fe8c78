"""Keyed hashes of hospital identifiers: duplicate detection and record matching without the MRN.

HIPAA §164.514(c) and PIPL treat a medical record number as identifying. Doseline keeps only
HMAC-SHA256(key, system|value): equal identifiers match, and without the key nobody can test a
guessed MRN against it. Services that must match hospital records share the key through settings.

Before hashing, both parts are put in one canonical form, so that the same identifier typed or
sent differently is the same identifier: Unicode NFKC (full-width digits and letters become ASCII),
every dash (hyphen, non-breaking hyphen, en dash, minus sign) becomes "-", control and
invisible format characters (NUL, zero-width space, BOM) are dropped, surrounding whitespace is
trimmed, the system compares case-insensitively and the value in upper case.

A site may declare, in the protocol (`sites[].identifier_systems`), the identifier systems it
uses and the other names each is sent under (`MRN`, an OID, a URI). A registration or a hospital
record naming any of those names is hashed under the one declared system, so the same person is
the same hash whichever name the sender used (docs/adr/0011-identifier-systems-per-site.md).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterable
from typing import Protocol

DEVELOPMENT_IDENTIFIER_KEY = "doseline-development-identifier-key-not-for-production"
MINUS_SIGN = "\u2212"


def _canonical(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    kept = []
    for character in folded:
        category = unicodedata.category(character)
        if category in {"Cc", "Cf"}:
            continue
        kept.append("-" if category == "Pd" or character == MINUS_SIGN else character)
    return "".join(kept).strip()


def canonical_system(system: str) -> str:
    """An identifier system as compared: `MRN`, ` mrn ` and `ＭＲＮ` are one system."""
    return _canonical(system).casefold()


def canonical_value(value: str) -> str:
    """An identifier value as compared: `mrn‐0012` (U+2010), `MRN-００１２` are `MRN-0012`."""
    return _canonical(value).upper()


class DeclaredSystem(Protocol):
    """An identifier system a site declares: its name, and the other names it is sent under."""

    @property
    def system(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


def declared_system(system: str, declared: Iterable[DeclaredSystem]) -> str | None:
    """The canonical form of the declared system that `system` names (itself or one of its
    aliases, compared canonically); None when the site declares no such system."""
    named = canonical_system(system)
    for entry in declared:
        if named in {canonical_system(name) for name in (entry.system, *entry.aliases)}:
            return canonical_system(entry.system)
    return None


def hospital_id_hash(
    key: str, *, system: str, value: str, site_systems: Iterable[DeclaredSystem] = ()
) -> str:
    """The keyed hash of one hospital identifier, after both parts are made canonical.

    `site_systems` are the identifier systems the subject's site declares: a system named by
    one of its aliases is hashed under the declared system. A system the site does not declare
    (or a site that declares none) is hashed as it is named."""
    canonical = declared_system(system, site_systems) or canonical_system(system)
    normalised = f"{canonical}|{canonical_value(value)}"
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


class SiteSystems(Protocol):
    """A site as far as identifiers go: the systems it declares (none: names taken as sent)."""

    @property
    def identifier_systems(self) -> tuple[DeclaredSystem, ...]: ...


def hospital_id_hashes(
    key: str, *, system: str, value: str, sites: Iterable[SiteSystems]
) -> set[str]:
    """Every hash a subject of one of `sites` with this identifier can carry: the one under each
    site's declared systems, and the one under the system as named (a site declaring none).

    For a hospital record whose sender does not say which site's subject it is about."""
    hashes = {hospital_id_hash(key, system=system, value=value)}
    for site in sites:
        hashes.add(
            hospital_id_hash(key, system=system, value=value, site_systems=site.identifier_systems)
        )
    return hashes
