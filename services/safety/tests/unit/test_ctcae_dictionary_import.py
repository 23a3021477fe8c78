"""Importing NCI's CTCAE v5.0 workbook and its CSV export into the versioned dictionary."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from doseline.testing.plugin import reference_file
from safety.dictionary import shipped
from safety.dictionary.spreadsheet import (
    DictionaryImportError,
    read_ctcae,
    read_ctcae_csv,
    read_ctcae_xlsx,
)
from safety.dictionary.terms import CtcaeDictionary

NCI_XLSX = shipped.workbook()
NCI_CSV = reference_file("ctcae/CTCAE_v5.0.csv")

NBSP = "\u00a0"
HEADER = [
    "MedDRA Code",
    "MedDRA SOC",
    "CTCAE Term",
    *(f"Grade {g} {NBSP}{NBSP}" for g in range(1, 6)),
    "Definition",
    "Navigational Note",
    "CTCAE v5.0 Change",
]
HYPOXIA_ROW = [
    10021143,
    "Respiratory, thoracic and mediastinal disorders",
    "Hypoxia",
    " -",
    "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); intermittent "
    "supplemental oxygen",
    "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 <=55 mm Hg)",
    "Life-threatening airway compromise; urgent intervention indicated (e.g., tracheotomy or "
    "intubation)",
    "Death",
    "A disorder characterized by a decrease in the level of oxygen in the body.",
    None,
    None,
]
COUGH_ROW = [
    10011224,
    "Respiratory, thoracic and mediastinal disorders",
    "Cough",
    "Mild symptoms; nonprescription intervention indicated",
    "Moderate symptoms, medical intervention indicated; limiting instrumental ADL",
    "Severe symptoms; limiting self care ADL",
    " -",
    " -",
    "A disorder characterized by sudden, often repetitive, spasmodic contraction of the thoracic "
    "cavity.",
    None,
    None,
]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"CTCAE file missing: {path}")
    return path


@pytest.fixture(scope="module")
def nci_workbook() -> CtcaeDictionary:
    return read_ctcae(_require(NCI_XLSX))


@pytest.fixture(scope="module")
def nci_csv() -> CtcaeDictionary:
    return read_ctcae(_require(NCI_CSV))


def _write_csv(path: Path, rows: Sequence[Sequence[object]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(["" if c is None else c for c in row] for row in rows)
    return path


def _write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return path


# --- the NCI files -----------------------------------------------------------------------------


def test_the_nci_workbook_gives_837_terms_in_26_system_organ_classes(
    nci_workbook: CtcaeDictionary,
) -> None:
    assert nci_workbook.version == "5.0"
    assert len(nci_workbook) == 837
    assert len(nci_workbook.system_organ_classes) == 26
    assert all(soc.meddra_code is None for soc in nci_workbook.system_organ_classes)


def test_the_csv_export_gives_the_same_dictionary_term_by_term(
    nci_workbook: CtcaeDictionary, nci_csv: CtcaeDictionary
) -> None:
    assert nci_csv.version == nci_workbook.version
    assert len(nci_csv) == len(nci_workbook)
    for from_workbook, from_csv in zip(nci_workbook, nci_csv, strict=True):
        assert from_csv == from_workbook


@pytest.mark.parametrize(
    ("grade", "terms_without_it"), [(1, 192), (2, 92), (3, 87), (4, 286), (5, 343)]
)
def test_grades_marked_dash_are_not_selectable(
    nci_workbook: CtcaeDictionary, grade: int, terms_without_it: int
) -> None:
    # ctcae/SOURCE.md: " -" cells — 192 terms have no grade 1, 92 no grade 2, …
    assert sum(not term.defines(grade) for term in nci_workbook) == terms_without_it
    assert all(term.grade_text(grade) is None for term in nci_workbook if not term.defines(grade))


@pytest.mark.parametrize(
    ("name", "defined"),
    [
        ("Hypoxia", (2, 3, 4, 5)),
        ("Respiratory failure", (4, 5)),
        ("Pneumonitis", (1, 2, 3, 4, 5)),
        ("Eosinophilia", (1, 3)),
        ("Neutrophil count decreased", (1, 2, 3, 4)),
        ("Anaphylaxis", (3, 4, 5)),
    ],
)
def test_terms_define_the_grades_nci_wrote(
    nci_workbook: CtcaeDictionary, name: str, defined: tuple[int, ...]
) -> None:
    assert nci_workbook.term_named(name).defined_grades == defined


def test_a_term_carries_code_soc_definition_and_grade_text(nci_workbook: CtcaeDictionary) -> None:
    pneumonitis = nci_workbook.term("10035742")
    assert pneumonitis.name == "Pneumonitis"
    assert pneumonitis.soc.name == "Respiratory, thoracic and mediastinal disorders"
    assert pneumonitis.grade_text(3) == (
        "Severe symptoms; limiting self care ADL; oxygen indicated"
    )
    assert pneumonitis.definition is not None
    assert pneumonitis.definition.startswith("A disorder characterized by inflammation")
    allergic = nci_workbook.term_named("Allergic reaction")
    assert allergic.navigational_note == (
        "If related to infusion, use Injury, poisoning and procedural complications: Infusion "
        "related reaction. Do not report both."
    )


def test_every_soc_has_one_other_specify_term_that_needs_a_specification(
    nci_workbook: CtcaeDictionary,
) -> None:
    others = [term for term in nci_workbook if term.is_other_specify]
    assert len(others) == 26
    assert {term.soc for term in others} == set(nci_workbook.system_organ_classes)
    assert all(term.name.endswith(" - Other, specify") for term in others)
    # NCI writes " -" for their definition: there is none.
    assert all(term.definition is None for term in others)


def test_cells_with_line_breaks_keep_single_newlines_and_no_carriage_returns(
    nci_workbook: CtcaeDictionary, nci_csv: CtcaeDictionary
) -> None:
    hypertension = nci_csv.term_named("Hypertension")
    text = hypertension.grade_text(2)
    assert text is not None
    assert text.split("\n")[0].startswith("Adult: Systolic BP 140 - 159 mm Hg")
    assert text.split("\n")[1].startswith("Pediatric and adolescent: Recurrent or persistent")
    every_text = [
        cell
        for term in [*nci_workbook, *nci_csv]
        for cell in (term.definition, term.navigational_note, *(g.text for g in term.grades))
        if cell is not None
    ]
    assert not any("\r" in cell or "\n\n" in cell or cell != cell.strip() for cell in every_text)
    assert not any(NBSP in cell for cell in every_text)


def test_meddra_codes_are_eight_digit_text(nci_workbook: CtcaeDictionary) -> None:
    assert all(len(t.meddra_code) == 8 and t.meddra_code.isdigit() for t in nci_workbook)
    assert nci_workbook.term("10002272").name == "Anemia"


def test_progress_is_reported_row_by_row_from_zero_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    read_ctcae(_require(NCI_XLSX), on_progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 837)
    assert calls[-1] == (837, 837)
    assert [done for done, _ in calls] == list(range(838))


def test_unknown_codes_and_names_raise_a_key_error_naming_the_version(
    nci_workbook: CtcaeDictionary,
) -> None:
    with pytest.raises(KeyError, match=r"99999999 in CTCAE v5\.0"):
        nci_workbook.term("99999999")
    with pytest.raises(KeyError, match="Radiation pneumonitis"):
        nci_workbook.term_named("Radiation pneumonitis")


# --- layout and quirks -------------------------------------------------------------------------


def test_columns_are_found_by_header_name_in_any_order(tmp_path: Path) -> None:
    order = [2, 0, 10, 9, 8, 7, 6, 5, 4, 3, 1]
    rows = [[row[i] for i in order] for row in (HEADER, HYPOXIA_ROW, COUGH_ROW)]
    shuffled = read_ctcae_csv(_write_csv(tmp_path / "CTCAE_v5.0_shuffled.csv", rows))
    plain = read_ctcae_csv(
        _write_csv(tmp_path / "CTCAE_v5.0_plain.csv", [HEADER, HYPOXIA_ROW, COUGH_ROW])
    )
    assert shuffled.terms == plain.terms
    assert shuffled.term("10021143").defined_grades == (2, 3, 4, 5)


def test_en_dashes_mark_missing_grades_and_stray_spaces_and_footnotes_are_removed(
    tmp_path: Path,
) -> None:
    row = list(COUGH_ROW)
    row[2] = f"  Cough{NBSP}* "
    row[6] = "\u2013"
    row[7] = f"{NBSP}-{NBSP}"
    row[3] = "Mild   symptoms;\u200b nonprescription intervention indicated  "
    dictionary = read_ctcae_csv(_write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, row]))
    cough = dictionary.term("10011224")
    assert cough.name == "Cough"
    assert cough.defined_grades == (1, 2, 3)
    assert cough.grade_text(1) == "Mild symptoms; nonprescription intervention indicated"


def test_a_title_row_above_the_header_and_other_sheets_are_tolerated(tmp_path: Path) -> None:
    path = _write_xlsx(
        tmp_path / "ctcae.xlsx",
        {
            "Read me": [["Common Terminology Criteria for Adverse Events"]],
            "CTCAE v5.0 Clean Copy": [
                ["Common Terminology Criteria for Adverse Events (CTCAE) v5.0"],
                HEADER,
                HYPOXIA_ROW,
                [None] * len(HEADER),
                COUGH_ROW,
            ],
        },
    )
    dictionary = read_ctcae_xlsx(path)
    assert dictionary.version == "5.0"
    assert [term.name for term in dictionary] == ["Hypoxia", "Cough"]


def test_a_later_version_with_soc_codes_imports_beside_v5(tmp_path: Path) -> None:
    header = [
        "MedDRA Code",
        "MedDRA SOC Code",
        "MedDRA SOC",
        "CTCAE Term",
        *(f"Grade {g}" for g in range(1, 6)),
        "Definition",
        "Navigational Note",
        "CTCAE v6.0 Change",
    ]
    row = [HYPOXIA_ROW[0], "10038738", *HYPOXIA_ROW[1:]]
    dictionary = read_ctcae_csv(_write_csv(tmp_path / "ctcae_export.csv", [header, row]))
    assert dictionary.version == "6.0"
    assert dictionary.term("10021143").soc.meddra_code == "10038738"


def test_identical_duplicate_rows_are_kept_once(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, COUGH_ROW, HYPOXIA_ROW, COUGH_ROW])
    assert [term.name for term in read_ctcae_csv(path)] == ["Cough", "Hypoxia"]


def test_an_explicit_version_is_used_when_the_file_does_not_say(tmp_path: Path) -> None:
    header = HEADER[:-1]
    path = _write_csv(tmp_path / "export.csv", [header, HYPOXIA_ROW[:-1]])
    with pytest.raises(DictionaryImportError, match="version"):
        read_ctcae_csv(path)
    assert read_ctcae_csv(path, version="5.0").version == "5.0"


# --- bad input ---------------------------------------------------------------------------------


def _import_error(path: Path) -> DictionaryImportError:
    with pytest.raises(DictionaryImportError) as caught:
        read_ctcae(path)
    return caught.value


def test_a_file_that_is_not_a_workbook_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "CTCAE_v5.0.xlsx"
    path.write_bytes(b"this is not a zip archive")
    error = _import_error(path)
    assert error.file == str(path)
    assert "not an Excel workbook" in error.problem
    assert error.status == 422


def test_a_workbook_renamed_to_csv_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "CTCAE_v5.0.csv"
    path.write_bytes(_require(NCI_XLSX).read_bytes())
    assert "binary" in _import_error(path).problem


def test_a_csv_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    row = list(COUGH_ROW)
    row[3] = "Mild symptoms; \u00e9"
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, row], encoding="latin-1")
    assert "UTF-8" in _import_error(path).problem


def test_an_unsupported_file_type_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "CTCAE_v5.0.pdf"
    path.write_bytes(b"%PDF-1.7")
    assert "unsupported file type '.pdf'" in _import_error(path).problem


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    assert _import_error(tmp_path / "CTCAE_v5.0.xlsx").problem == "file not found"


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Definition"]
    row: list[object] = [c for h, c in zip(HEADER, COUGH_ROW, strict=True) if h != "Definition"]
    rows: list[list[object]] = [list(header), row]
    error = _import_error(_write_csv(tmp_path / "CTCAE_v5.0.csv", rows))
    assert "'Definition'" in error.problem
    assert error.row == 1


def test_no_sheet_with_ctcae_columns_names_the_required_columns(tmp_path: Path) -> None:
    path = _write_xlsx(tmp_path / "CTCAE_v5.0.xlsx", {"Sheet": [["Term", "Grade"]]})
    error = _import_error(path)
    assert "MedDRA Code" in error.problem
    assert "Grade 5" in error.problem


def test_a_duplicate_meddra_code_with_different_content_names_both_rows(tmp_path: Path) -> None:
    changed = list(COUGH_ROW)
    changed[5] = "Severe symptoms"
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, COUGH_ROW, HYPOXIA_ROW, changed])
    error = _import_error(path)
    assert error.row == 4
    assert "MedDRA code 10011224 also on row 2 with different content" in error.problem


def test_the_same_term_name_under_two_codes_is_rejected(tmp_path: Path) -> None:
    other = list(COUGH_ROW)
    other[0] = 10011225
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, COUGH_ROW, other])
    error = _import_error(path)
    assert error.row == 3
    assert "'Cough' also on row 2" in error.problem


@pytest.mark.parametrize("code", ["1001122", "10011224a", "", "1.0011224E7x"])
def test_a_malformed_meddra_code_is_rejected(tmp_path: Path, code: str) -> None:
    row = list(COUGH_ROW)
    row[0] = code
    error = _import_error(_write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, row]))
    assert error.row == 2
    assert "not an 8-digit code" in error.problem


def test_an_empty_grade_cell_is_an_error_not_a_missing_grade(tmp_path: Path) -> None:
    row = list(COUGH_ROW)
    row[6] = ""
    error = _import_error(_write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, row]))
    assert "Grade 4 cell is empty" in error.problem


def test_a_version_given_that_contradicts_the_file_is_rejected(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER, COUGH_ROW])
    with pytest.raises(DictionaryImportError, match=r"says CTCAE v5\.0, not v6\.0"):
        read_ctcae(path, version="6.0")


def test_a_header_without_terms_is_rejected(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "CTCAE_v5.0.csv", [HEADER])
    assert "no terms" in _import_error(path).problem
