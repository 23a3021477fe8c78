"""Every graded analyte is found under the LOINC codes laboratories use, and a molar result
grades as the equal mass result does."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from safety.__main__ import app as cli
from safety.ehr.loinc import (
    LOINC_TO_LAB_TERMS,
    LabCode,
    LabCodeFileError,
    codes_for_analyte,
    lab_code,
    lab_codes,
    lab_terms_for,
    parse_lab_codes,
)
from safety.grading import units as u
from safety.grading.lab import LOINC_TO_TERM, grade_lab
from safety.grading.lab_criteria import CRITERIA, LabTerm

D = Decimal


def test_creatinine_in_umol_per_litre_is_described_by_its_loinc_parts() -> None:
    assert lab_code("14682-9") == LabCode(
        loinc="14682-9",
        terms=(LabTerm.CREATININE_INCREASED,),
        analyte="creatinine",
        component="Creatinine",
        property="SCnc",
        specimen="Ser/Plas",
        unit="umol/L",
        long_name="Creatinine [Moles/volume] in Serum or Plasma",
    )


def test_an_unmapped_code_has_no_description_and_no_terms() -> None:
    assert lab_code("0000-0") is None
    assert lab_terms_for(["0000-0"]) is None


def test_the_first_mapped_code_of_an_observation_decides_its_terms() -> None:
    assert lab_terms_for(["0000-0", "6298-4", "2823-3"]) == (
        "6298-4",
        (LabTerm.HYPERKALEMIA, LabTerm.HYPOKALEMIA),
    )


@pytest.mark.parametrize(
    "code",
    [
        # Every code mapped before the table became data keeps its meaning.
        "718-7", "751-8", "26499-4", "777-3", "26515-7", "6690-2", "26464-8", "731-0",
        "26474-7", "1742-6", "1920-8", "6768-6", "2324-2", "1975-2", "2160-0", "2157-6",
        "3040-3", "1798-8", "2532-0", "10839-9", "89579-7", "6598-7", "67151-1", "1751-7",
        "2093-3", "2571-8", "6301-6", "3173-2", "3255-7", "2823-3", "2951-2", "19123-9",
        "2601-3", "2345-7", "3084-1", "8310-5",
    ],
)  # fmt: skip
def test_codes_mapped_before_are_still_mapped(code: str) -> None:
    assert code in LOINC_TO_LAB_TERMS


def test_the_graders_blood_gas_and_pft_codes_feed_the_same_terms() -> None:
    for code, terms in LOINC_TO_TERM.items():
        assert LOINC_TO_LAB_TERMS[code] == terms


def test_every_shipped_unit_measures_the_terms_it_feeds() -> None:
    for code in lab_codes():
        unit = u.parse_unit(code.unit)
        for term in code.terms:
            assert unit in CRITERIA[term].units, (code.loinc, term)


@pytest.mark.parametrize(
    ("analyte", "codes"),
    [
        ("creatinine", {"2160-0", "38483-4", "14682-9"}),
        ("sodium", {"2951-2", "2947-0"}),
        ("glucose", {"2345-7", "2339-0", "14749-6", "15074-8"}),
        ("hemoglobin", {"718-7", "20509-6", "59260-0"}),
        ("platelets", {"777-3", "26515-7", "778-1"}),
        ("inr", {"6301-6", "34714-6", "46418-0"}),
    ],
)
def test_serum_blood_mass_and_molar_variants_share_one_analyte(
    analyte: str, codes: set[str]
) -> None:
    assert {code.loinc for code in codes_for_analyte(analyte)} == codes


def test_a_table_naming_an_unknown_term_is_refused() -> None:
    text = (
        "loinc,terms,analyte,component,property,specimen,unit,long_name\n"
        "1-1,NOT_A_TERM,x,X,MCnc,Ser/Plas,mg/dL,X\n"
    )
    with pytest.raises(LabCodeFileError, match="line 2: NOT_A_TERM is not a LabTerm"):
        parse_lab_codes(text)


def test_a_table_listing_a_code_twice_is_refused() -> None:
    row = "2160-0,CREATININE_INCREASED,creatinine,Creatinine,MCnc,Ser/Plas,mg/dL,Creatinine\n"
    text = "loinc,terms,analyte,component,property,specimen,unit,long_name\n" + row + row
    with pytest.raises(LabCodeFileError, match="listed twice"):
        parse_lab_codes(text)


def test_coverage_lists_at_least_two_codes_for_the_common_analytes() -> None:
    result = CliRunner().invoke(cli, ["loinc-coverage", "--format", "json"])
    assert result.exit_code == 0, result.output
    coverage = {entry["term"]: entry["codes"] for entry in json.loads(result.output)["terms"]}
    for term in (
        LabTerm.CREATININE_INCREASED,
        LabTerm.HYPONATREMIA,
        LabTerm.HYPOGLYCEMIA,
        LabTerm.CHOLESTEROL_HIGH,
        LabTerm.ANEMIA,
        LabTerm.HYPERKALEMIA,
        LabTerm.PLATELET_COUNT_DECREASED,
        LabTerm.NEUTROPHIL_COUNT_DECREASED,
    ):
        assert len(coverage[term.value]) >= 2, term
    creatinine = {code["loinc"]: code for code in coverage["creatinine_increased"]}
    assert creatinine["14682-9"] == {
        "loinc": "14682-9",
        "specimen": "Ser/Plas",
        "property": "SCnc",
        "unit": "umol/L",
        "long_name": "Creatinine [Moles/volume] in Serum or Plasma",
    }


def test_coverage_as_text_names_each_term_with_its_codes() -> None:
    result = CliRunner().invoke(cli, ["loinc-coverage"])
    assert result.exit_code == 0, result.output
    assert "Creatinine increased (Serum creatinine): 3 codes" in result.output
    assert "14682-9" in result.output


@pytest.mark.parametrize(
    ("analyte", "mass", "molar", "expected"),
    [
        ("creatinine", D("1.0"), D("88.40"), "umol/L"),
        ("glucose", D("90"), D("4.996"), "mmol/L"),
        ("cholesterol", D("200"), D("5.173"), "mmol/L"),
        ("triglycerides", D("88.57"), D("1.000"), "mmol/L"),
        ("urate", D("6.0"), D("356.9"), "umol/L"),
        ("bilirubin", D("1.0"), D("17.10"), "umol/L"),
        ("magnesium", D("2.0"), D("0.8229"), "mmol/L"),
        ("calcium_ionized", D("4.008"), D("1.000"), "mmol/L"),
    ],
)
def test_mass_concentrations_convert_to_molar_by_the_clinical_molar_mass(
    analyte: str, mass: Decimal, molar: Decimal, expected: str
) -> None:
    converted = u.convert_analyte(
        mass, u.MILLIGRAM_PER_DECILITRE, u.parse_unit(expected), analyte=analyte
    )
    assert converted.quantize(molar) == molar
    back = u.convert_analyte(
        converted, u.parse_unit(expected), u.MILLIGRAM_PER_DECILITRE, analyte=analyte
    )
    assert back.quantize(mass) == mass


def test_hemoglobin_converts_by_the_usual_factor_0_6206() -> None:
    mmol = u.convert_analyte(
        D("10"), u.GRAM_PER_DECILITRE, u.MILLIMOLE_PER_LITRE, analyte="hemoglobin"
    )
    assert mmol.quantize(D("0.001")) == D("6.206")


def test_magnesium_in_meq_per_litre_is_twice_its_millimoles() -> None:
    mmol = u.convert_analyte(
        D("1.8"), u.MILLIEQUIVALENT_PER_LITRE, u.MILLIMOLE_PER_LITRE, analyte="magnesium"
    )
    assert mmol == D("0.9")


def test_an_analyte_without_molar_mass_is_not_converted_across_dimensions() -> None:
    with pytest.raises(ValueError, match="cannot convert albumin"):
        u.convert_analyte(D("4"), u.GRAM_PER_DECILITRE, u.MILLIMOLE_PER_LITRE, analyte="albumin")


@pytest.mark.parametrize(
    ("term", "analyte", "value", "lln", "uln", "mass_unit", "molar_unit"),
    [
        (LabTerm.CREATININE_INCREASED, "creatinine", "2.0", "0.7", "1.3", "mg/dL", "umol/L"),
        (LabTerm.HYPOGLYCEMIA, "glucose", "45", "70", "99", "mg/dL", "mmol/L"),
        (LabTerm.CHOLESTEROL_HIGH, "cholesterol", "350", None, "200", "mg/dL", "mmol/L"),
        (LabTerm.HYPERTRIGLYCERIDEMIA, "triglycerides", "700", None, "150", "mg/dL", "mmol/L"),
        (LabTerm.HYPERURICEMIA, "urate", "9.5", "3.0", "7.0", "mg/dL", "umol/L"),
        (LabTerm.BLOOD_BILIRUBIN_INCREASED, "bilirubin", "2.0", "0.3", "1.0", "mg/dL", "umol/L"),
        (LabTerm.HYPOMAGNESEMIA, "magnesium", "1.0", "1.6", "2.6", "mg/dL", "mmol/L"),
        (LabTerm.ANEMIA, "hemoglobin", "9.0", "12.0", "16.0", "g/dL", "mmol/L"),
    ],
)
def test_a_molar_value_grades_the_same_as_the_equal_mass_value(
    term: LabTerm,
    analyte: str,
    value: str,
    lln: str | None,
    uln: str | None,
    mass_unit: str,
    molar_unit: str,
) -> None:
    source, target = u.parse_unit(mass_unit), u.parse_unit(molar_unit)

    def molar(number: str | None) -> Decimal | None:
        if number is None:
            return None
        return u.convert_analyte(D(number), source, target, analyte=analyte)

    as_mass = grade_lab(
        term,
        D(value),
        mass_unit,
        lln=None if lln is None else D(lln),
        uln=None if uln is None else D(uln),
        baseline_normal=True,
    )
    as_molar = grade_lab(
        term, molar(value), molar_unit, lln=molar(lln), uln=molar(uln), baseline_normal=True
    )
    assert as_mass.grade is not None
    assert as_mass.grade > 0
    assert as_molar.grade == as_mass.grade
