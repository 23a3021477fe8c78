"""The committed CDISC CT codelists: one CT package, well-formed files, pairs of test codes."""

from __future__ import annotations

from importlib.resources import files

import pytest

from doseline.sdtm.controlled_terminology import CT_PACKAGE, codelist, ct_version, paired_value

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


def test_the_package_records_the_one_ct_version_every_file_comes_from() -> None:
    assert ct_version() == CT_PACKAGE == "SDTM CT 2025-03-28"
    assert {codelist(code).ct_package for code in COMMITTED} == {ct_version()}


def test_enrollment_codelists_carry_the_2025_03_28_terms() -> None:
    epoch = codelist("C99079")
    assert (epoch.term_code("SCREENING"), epoch.term_code("FOLLOW-UP")) == ("C202487", "C202578")
    assert not codelist("C99077").extensible  # Study Type Response
    assert paired_value("C66738", "C67152", "TPHASE") == "Trial Phase Classification"


def test_a_value_an_extensible_codelist_lacks_is_extended_and_a_closed_one_refuses_it() -> None:
    units = codelist("C71620")
    assert units.code_of("cells/kg") is None
    units.check_values({"kg", "cells/kg"}, "EX.EXDOSU")
    assert units.code_of("kg") == "C28252"
    with pytest.raises(ValueError, match=r"TS\.TSVAL: \['OTHER'\] .* C99077"):
        codelist("C99077").check_values({"INTERVENTIONAL", "OTHER"}, "TS.TSVAL")
