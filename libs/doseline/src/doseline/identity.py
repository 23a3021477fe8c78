"""Keyed hashes of hospital identifiers: duplicate detection and record matching without the MRN.

HIPAA §164.514(c) and PIPL treat a medical record number as identifying. Doseline keeps only
HMAC-SHA256(key, system|value): equal identifiers match, and without the key nobody can test a
guessed MRN against it. Services that must match hospital records share the key through settings.
"""

from __future__ import annotations

import hashlib
import hmac

DEVELOPMENT_IDENTIFIER_KEY = "doseline-development-identifier-key-not-for-production"


def hospital_id_hash(key: str, *, system: str, value: str) -> str:
    """The keyed hash of one hospital identifier (value trimmed and upper-cased first)."""
    normalised = f"{system.strip()}|{value.strip().upper()}"
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
