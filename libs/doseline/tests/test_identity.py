"""One person, one identifier: the keyed hash sees through how an MRN was typed or sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from doseline.contracts.protocol import IdentifierSystemRules, SiteRules
from doseline.identity import (
    canonical_system,
    canonical_value,
    declared_system,
    hospital_id_hash,
    hospital_id_hashes,
)

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


WCH_MRN = IdentifierSystemRules(
    system="urn:oid:1.2.156.112604.1.2.1", aliases=("MRN", "1.2.156.112604.1.2.1")
)


def test_every_alias_of_a_declared_system_hashes_as_the_declared_system() -> None:
    declared = hospital_id_hash(KEY, system=WCH_MRN.system, value="WCH-0042")
    for alias in ("MRN", " mrn ", "ＭＲＮ", "1.2.156.112604.1.2.1", "URN:OID:1.2.156.112604.1.2.1"):
        assert (
            hospital_id_hash(KEY, system=alias, value="wch-0042", site_systems=(WCH_MRN,))
            == declared
        ), alias


def test_a_system_the_site_does_not_declare_hashes_as_it_is_named() -> None:
    assert declared_system("SSN", (WCH_MRN,)) is None
    assert hospital_id_hash(KEY, system="SSN", value="1", site_systems=(WCH_MRN,)) == digest(
        "SSN", "1"
    )


def test_a_record_of_an_unknown_site_is_looked_up_under_every_site_mapping() -> None:
    wch = SiteRules(id="WCH", name="W", time_zone="Asia/Shanghai", identifier_systems=(WCH_MRN,))
    pumch = SiteRules(id="PUMCH", name="P", time_zone="Asia/Shanghai")
    hashes = hospital_id_hashes(KEY, system="MRN", value="7", sites=(wch, pumch))
    assert hashes == {digest("MRN", "7"), digest(WCH_MRN.system, "7")}


def test_one_name_cannot_stand_for_two_systems_of_a_site() -> None:
    with pytest.raises(ValidationError, match="names both"):
        SiteRules(
            id="WCH",
            name="W",
            time_zone="Asia/Shanghai",
            identifier_systems=(
                WCH_MRN,
                IdentifierSystemRules(system="urn:oid:9.9", aliases=("mrn",)),
            ),
        )
