"""Keyed hashes of hospital identifiers: duplicate detection and record matching without the MRN.

HIPAA §164.514(c) and PIPL treat a medical record number as identifying. Doseline keeps only
HMAC-SHA256(key, system|value): equal identifiers match, and without the key nobody can test a
guessed MRN against it. Services that must match hospital records share the key through settings.

Before hashing, both parts are put in one canonical form, so that the same identifier typed or
sent differently is the same identifier: Unicode NFKC (full-width digits and letters become ASCII),
every dash (hyphen, non-breaking hyphen, en dash, minus sign) becomes "-", control and
invisible format characters (NUL, zero-width space, BOM) are dropped, surrounding whitespace is
trimmed, the system compares case-insensitively and the value in upper case.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

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


def hospital_id_hash(key: str, *, system: str, value: str) -> str:
    """The keyed hash of one hospital identifier, after both parts are made canonical."""
    normalised = f"{canonical_system(system)}|{canonical_value(value)}"
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
