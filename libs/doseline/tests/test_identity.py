"""One person, one identifier: the keyed hash sees through how an MRN was typed or sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseline.identity import canonical_system, canonical_value, hospital_id_hash

KEY = "test-key"


def digest(system: str, value: str) -> str:
    return hospital_id_hash(KEY, system=system, value=value)


@pytest.mark.parametrize(
    ("system", "value"),
    [
        ("mrn", "WCH-0012"),
        (" MRN ", "wch-0012"),
        ("Mrn", "WCH\u20100012"),  # hyphen
        ("MRN", "WCH\u20110012"),  # non-breaking hyphen
        ("MRN", "WCH\u20130012"),  # en dash
        ("MRN", "WCH\u22120012"),  # minus sign
        ("MRN", "WCH-\uff10\uff10\uff11\uff12"),  # full-width digits
        ("\uff2d\uff32\uff2e", "WCH-0012"),  # full-width system
        ("MRN", "WCH-0012\u0000"),  # trailing NUL
        ("MRN", "WCH-0012\r\n"),
        ("MRN", "\ufeffWCH-\u200b0012"),  # BOM, zero-width space
    ],
)
def test_the_same_identifier_written_differently_hashes_the_same(system: str, value: str) -> None:
    assert digest(system, value) == digest("MRN", "WCH-0012")


def test_different_identifiers_stay_different() -> None:
    assert digest("MRN", "WCH-0012") != digest("MRN", "WCH-0013")
    assert digest("MRN", "WCH-0012") != digest("PASSPORT", "WCH-0012")
    assert digest("MRN", "WCH 0012") != digest("MRN", "WCH0012")


def test_the_canonical_forms_are_readable() -> None:
    assert canonical_system(" ＭＲＮ ") == "mrn"
    assert canonical_value("wch‐００１２\x00") == "WCH-0012"


@given(st.text(max_size=40), st.text(max_size=40))
def test_canonical_forms_are_idempotent(system: str, value: str) -> None:
    assert canonical_system(canonical_system(system)) == canonical_system(system)
    assert canonical_value(canonical_value(value)) == canonical_value(value)
