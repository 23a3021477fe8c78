"""The committed CDISC CT codelists: one CT package, well-formed files, pairs of test codes."""

from __future__ import annotations

from importlib.resources import files

import pytest

from doseline.sdtm.controlled_terminology import codelist, paired_value

COMMITTED = sorted(
    entry.name.removesuffix(".json")
    for entry in (files("doseline.sdtm") / "terminology").iterdir()
    if entry.name.endswith(".json")
)


def test_every_codelist_comes_from_the_one_ct_package_the_source_note_names() -> None:
    packages = {codelist(code).ct_package for code in COMMITTED}
    assert packages == {"SDTM CT 2025-03-28"}
    note = (files("doseline.sdtm") / "terminology" / "SOURCE.md").read_text(encoding="utf-8")
    assert "2025-03-28" in note
    assert all(code in note for code in COMMITTED)


@pytest.mark.parametrize("code", COMMITTED)
def test_a_codelist_file_holds_that_codelist_with_distinct_submission_values(code: str) -> None:
    found = codelist(code)
    assert found.code == code
    assert found.terms
    assert len(found.values) == len(found.terms)
    assert all(term.startswith("C") for term in found.terms)


def test_whole_codelists_are_marked_so_and_cut_down_ones_as_subsets() -> None:
    assert not codelist("C66742").subset
    assert sorted(codelist("C66742").values) == ["N", "NA", "U", "Y"]
    assert codelist("C65047").subset
    assert not codelist("C66742").extensible
    assert codelist("C71620").extensible


def test_a_test_code_is_paired_with_its_test_name_through_the_nci_term_code() -> None:
    assert paired_value("C65047", "C67154", "NEUT") == "Neutrophils"
    assert paired_value("C111106", "C111107", "FEV1") == "Forced Expiratory Volume in 1 Second"
    assert paired_value("C115388", "C115387", "SIXMW106") == "SIXMW1-Distance at 6 Minutes"


def test_a_value_outside_a_codelist_is_a_key_error_naming_the_codelist() -> None:
    with pytest.raises(KeyError, match="C66742 \\(NY\\)"):
        codelist("C66742").term_code("MAYBE")
    with pytest.raises(KeyError, match="C66767 \\(ACN\\) has no term C0"):
        codelist("C66767").value("C0")
