"""Hospital identifiers for tests: every registration names a person no other test names."""

from __future__ import annotations

import uuid


def new_mrn() -> str:
    """A medical record number no other call returns (a subject needs one to be registered)."""
    return f"MRN-{uuid.uuid4().hex[:12].upper()}"


def hospital_identifier(system: str = "MRN") -> dict[str, str]:
    """The `hospital_identifier` of a registration body, with a new MRN."""
    return {"system": system, "value": new_mrn()}
