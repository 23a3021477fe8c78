"""Import NCI's CTCAE workbook (.xlsx) or its CSV export into a versioned `CtcaeDictionary`.

The reader finds columns by their header names, not their positions, so a later version's sheet
(v6.0) imports beside v5.0 as long as it keeps NCI's column names. Every quirk of the v5.0 files
(ctcae/SOURCE.md) is handled here:

- grade cells holding " -" (space, dash) mean the grade does not exist for the term;
- header cells "Grade N" end in non-breaking spaces;
- 15 cells contain line breaks (CR LF in the CSV);
- the CSV starts with a byte-order mark;
- MedDRA codes are numbers in the workbook and text in the CSV.

Bad input raises `DictionaryImportError` naming the file, sheet, row and what is wrong.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from doseline.errors import InvalidInput
from safety.dictionary.terms import (
    GRADES,
    CtcaeDictionary,
    CtcaeTerm,
    GradeDefinition,
    SystemOrganClass,
)
from safety.problems import CTCAE_IMPORT_FAILED

ProgressCallback = Callable[[int, int], None]
"""Called as `on_progress(done, total)` with the number of sheet rows read so far."""

XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
CSV_SUFFIXES: Final = (".csv",)

# How far down a sheet the header row may sit (NCI's is row 1; a title row above it is tolerated).
_HEADER_SEARCH_ROWS: Final = 10
_MEDDRA_CODE_DIGITS: Final = 8
# CTCAE: a grade that does not exist for a term is written "-"; exports sometimes turn the
# hyphen into an en dash, em dash or minus sign.
_NOT_DEFINED_MARKERS: Final = frozenset(
    {"-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"}
)
_OTHER_SPECIFY_SUFFIX: Final = "other, specify"
_VERSION_PATTERN: Final = re.compile(r"ctcae[\s_]*v?\s*(\d+\.\d+)", re.IGNORECASE)
_VERSION_LABEL: Final = re.compile(r"^\d+\.\d+$")
# Footnote markers that word processors leave at the end of a term name.
_TRAILING_FOOTNOTE: Final = re.compile(r"[\s*\u2020\u2021\u00a7\u00b9\u00b2\u00b3\u2070-\u2079]+$")
_SPACED_DASH: Final = re.compile(r"\s[\u2010-\u2015\u2212]\s")
_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES: Final = re.compile(r"[^\S\n]+")


class DictionaryImportError(InvalidInput):
    """The file is not a CTCAE dictionary this reader can import; says where and why."""

    default_problem = CTCAE_IMPORT_FAILED

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str,
        sheet: str | None = None,
        row: int | None = None,
    ) -> None:
        where = str(file)
        if sheet is not None:
            where += f", sheet {sheet!r}"
        if row is not None:
            where += f", row {row}"
        super().__init__(
            f"{where}: {problem}",
            extra={"file": str(file), "sheet": sheet, "row": row, "problem": problem},
        )
        self.file = str(file)
        self.sheet = sheet
        self.row = row
        self.problem = problem


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    required: bool
    pattern: re.Pattern[str]


def _column(key: str, label: str, pattern: str, *, required: bool = True) -> _Column:
    return _Column(key, label, required, re.compile(pattern))


# Header names as NCI writes them, after normalisation (see `_header_key`). Alternatives cover the
# wording of other CTCAE releases and of third-party exports; positions are never assumed.
_COLUMNS: Final = (
    _column(
        "meddra_code",
        "MedDRA Code",
        r"^(meddra( v?\d+(\.\d+)*)? (llt |lowest level term )?code|meddra code \(llt\)|llt code)$",
    ),
    _column(
        "soc_name", "MedDRA SOC", r"^(meddra soc( name)?|soc( name)?|(meddra )?system organ class)$"
    ),
    _column("soc_code", "MedDRA SOC Code", r"^(meddra soc code|soc code)$", required=False),
    _column("term", "CTCAE Term", r"^(ctcae term( name)?|term( name)?)$"),
    *(_column(f"grade_{g}", f"Grade {g}", rf"^grade {g}$") for g in GRADES),
    _column("definition", "Definition", r"^((ctcae |term )?definition)$"),
    _column("navigational_note", "Navigational Note", r"^navigational note(s)?$"),
    _column("change_note", "CTCAE vN Change", r"^ctcae v?\d+(\.\d+)? change(s)?$", required=False),
)


@dataclass(frozen=True)
class _Table:
    """Rows of one sheet (or CSV file) with their 1-based row numbers."""

    file: Path
    sheet: str | None
    rows: tuple[tuple[int, tuple[object, ...]], ...]


def read_ctcae(
    path: Path | str,
    *,
    version: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> CtcaeDictionary:
    """Read an NCI CTCAE workbook (.xlsx) or CSV export, chosen by the file's suffix."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return read_ctcae_xlsx(file, version=version, on_progress=on_progress)
    if suffix in CSV_SUFFIXES:
        return read_ctcae_csv(file, version=version, on_progress=on_progress)
    accepted = ", ".join((*XLSX_SUFFIXES, *CSV_SUFFIXES))
    raise DictionaryImportError(
        f"unsupported file type {file.suffix or '(none)'!r}; expected one of {accepted}",
        file=file,
    )


def read_ctcae_xlsx(
    path: Path | str,
    *,
    version: str | None = None,
    sheet: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> CtcaeDictionary:
    """Read NCI's CTCAE workbook; the sheet is found by its header unless `sheet` names it."""
    # openpyxl (and numpy under it) loads on an import, not with the service: the shipped
    # dictionary is read once, on the first start.
    import openpyxl  # noqa: PLC0415
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    file = Path(path)
    _require_file(file)
    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise DictionaryImportError(
            f"not an Excel workbook (.xlsx) that can be opened: {error}", file=file
        ) from error
    try:
        titles = list(workbook.sheetnames)
        if sheet is not None and sheet not in titles:
            raise DictionaryImportError(
                f"no sheet named {sheet!r}; the workbook has {titles}", file=file
            )
        candidates: list[_Table] = []
        for title in [sheet] if sheet is not None else titles:
            rows = tuple(
                (number, tuple(values))
                for number, values in enumerate(
                    workbook[title].iter_rows(values_only=True), start=1
                )
            )
            table = _Table(file, title, rows)
            if sheet is not None or _find_header(table) is not None:
                candidates.append(table)
    finally:
        workbook.close()
    if not candidates:
        raise DictionaryImportError(
            f"no sheet has the CTCAE columns ({_required_labels()}); sheets: {titles}",
            file=file,
        )
    if len(candidates) > 1:
        names = [table.sheet for table in candidates]
        raise DictionaryImportError(
            f"several sheets have the CTCAE columns {names}; name the one to import", file=file
        )
    return _build_dictionary(candidates[0], version=version, on_progress=on_progress)


def read_ctcae_csv(
    path: Path | str,
    *,
    version: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> CtcaeDictionary:
    """Read a CSV export of the CTCAE sheet (UTF-8, with or without a byte-order mark)."""
    file = Path(path)
    _require_file(file)
    raw = file.read_bytes()
    if b"\x00" in raw[:4096] or raw.startswith(b"PK\x03\x04"):
        raise DictionaryImportError("not a CSV text file (binary content)", file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DictionaryImportError(
            f"not UTF-8 text (byte {error.start}); export the CSV as UTF-8", file=file
        ) from error
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:65536], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        records = list(csv.reader(text.splitlines(keepends=True), dialect))
    except csv.Error as error:
        raise DictionaryImportError(f"not readable as CSV: {error}", file=file) from error
    rows = tuple((number, _as_cells(record)) for number, record in enumerate(records, start=1))
    return _build_dictionary(_Table(file, None, rows), version=version, on_progress=on_progress)


def _as_cells(record: Sequence[str]) -> tuple[object, ...]:
    return tuple(record)


def _require_file(file: Path) -> None:
    if not file.is_file():
        raise DictionaryImportError("file not found", file=file)


def _required_labels() -> str:
    return ", ".join(column.label for column in _COLUMNS if column.required)


def _header_key(value: object) -> str:
    """Header text reduced to compare by name: NFKC (turns NBSP into a space), single-spaced."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).translate(_ZERO_WIDTH)
    return " ".join(text.split()).casefold()


def _match_header(cells: Sequence[object]) -> tuple[dict[str, int], list[str]]:
    """Map column keys to positions in a candidate header row; also list the missing labels."""
    keys = [_header_key(cell) for cell in cells]
    positions: dict[str, int] = {}
    missing: list[str] = []
    for column in _COLUMNS:
        found = [index for index, key in enumerate(keys) if column.pattern.match(key)]
        if found:
            positions[column.key] = found[0]
        elif column.required:
            missing.append(column.label)
    return positions, missing


def _find_header(table: _Table) -> tuple[int, dict[str, int]] | None:
    """The index in `table.rows` of the header row and its column positions."""
    for index, (_, cells) in enumerate(table.rows[:_HEADER_SEARCH_ROWS]):
        positions, missing = _match_header(cells)
        if not missing:
            return index, positions
    return None


def _header_or_error(table: _Table) -> tuple[int, dict[str, int]]:
    found = _find_header(table)
    if found is not None:
        return found
    # Name what is missing relative to the row that came closest to a CTCAE header.
    best_row, best_missing = 1, [column.label for column in _COLUMNS if column.required]
    for number, cells in table.rows[:_HEADER_SEARCH_ROWS]:
        _, missing = _match_header(cells)
        if len(missing) < len(best_missing):
            best_row, best_missing = number, missing
    raise DictionaryImportError(
        f"missing column(s) {', '.join(repr(m) for m in best_missing)}; "
        f"a CTCAE sheet has {_required_labels()}",
        file=table.file,
        sheet=table.sheet,
        row=best_row,
    )


def clean_text(value: object) -> str | None:
    """Cell text as readers see it: NFC, no NBSP or zero-width characters, single spaces,
    line breaks kept as single '\\n', no blank lines, trimmed; None when nothing is left."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    cleaned = "\n".join(line for line in lines if line)
    return cleaned or None


def _clean_name(value: object) -> str | None:
    """A term or SOC name: one line, spaced dashes as " - ", trailing footnote markers removed."""
    text = clean_text(value)
    if text is None:
        return None
    text = " ".join(text.split())
    text = _SPACED_DASH.sub(" - ", text)
    text = _TRAILING_FOOTNOTE.sub("", text)
    return text or None


def _meddra_code(value: object) -> str | None:
    """An 8-digit MedDRA code from a number or text cell; None if the cell is not a code."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        text = str(int(value))
    else:
        text = "".join(unicodedata.normalize("NFKC", str(value)).split())
        text = re.sub(r"\.0+$", "", text)
    if len(text) == _MEDDRA_CODE_DIGITS and text.isascii() and text.isdigit():
        return text
    return None


def _detect_versions(table: _Table, header: Sequence[object]) -> set[str]:
    """Version labels written in the change-column header, the sheet title and the file name."""
    places: list[str] = [table.file.name]
    if table.sheet is not None:
        places.append(table.sheet)
    places.extend(str(cell) for cell in header if cell is not None)
    return {match.group(1) for place in places for match in _VERSION_PATTERN.finditer(place)}


def _resolve_version(table: _Table, header: Sequence[object], version: str | None) -> str:
    detected = _detect_versions(table, header)
    if len(detected) > 1:
        raise DictionaryImportError(
            f"the file names several CTCAE versions {sorted(detected)}; cannot tell which it is",
            file=table.file,
            sheet=table.sheet,
        )
    if version is not None:
        if not _VERSION_LABEL.match(version):
            raise DictionaryImportError(
                f"version label {version!r} is not of the form '5.0'",
                file=table.file,
                sheet=table.sheet,
            )
        if detected and version not in detected:
            raise DictionaryImportError(
                f"the file says CTCAE v{detected.pop()}, not v{version}",
                file=table.file,
                sheet=table.sheet,
            )
        return version
    if not detected:
        raise DictionaryImportError(
            "the CTCAE version is not written in the file name, sheet name or headers; "
            "give it explicitly (e.g. version='5.0')",
            file=table.file,
            sheet=table.sheet,
        )
    return detected.pop()


def _is_blank(cells: Iterable[object]) -> bool:
    return all(clean_text(cell) is None for cell in cells)


def _build_dictionary(
    table: _Table, *, version: str | None, on_progress: ProgressCallback | None
) -> CtcaeDictionary:
    header_index, positions = _header_or_error(table)
    header = table.rows[header_index][1]
    label = _resolve_version(table, header, version)
    body = [
        (number, cells) for number, cells in table.rows[header_index + 1 :] if not _is_blank(cells)
    ]
    total = len(body)
    if total == 0:
        raise DictionaryImportError(
            "the sheet has a CTCAE header but no terms", file=table.file, sheet=table.sheet
        )
    if on_progress is not None:
        on_progress(0, total)

    terms: dict[str, tuple[int, CtcaeTerm]] = {}
    names: dict[str, tuple[int, str]] = {}
    soc_codes: dict[str, tuple[int, str | None]] = {}
    for done, (number, cells) in enumerate(body, start=1):
        term = _parse_row(table, number, cells, positions)
        _check_soc_code(table, number, term, soc_codes)
        previous = terms.get(term.meddra_code)
        if previous is not None:
            first_row, first = previous
            if first != term:
                raise DictionaryImportError(
                    f"MedDRA code {term.meddra_code} also on row {first_row} with different "
                    f"content ({first.name!r} vs {term.name!r})",
                    file=table.file,
                    sheet=table.sheet,
                    row=number,
                )
        else:
            key = term.name.casefold()
            if key in names:
                other_row, other_code = names[key]
                raise DictionaryImportError(
                    f"term {term.name!r} also on row {other_row} with MedDRA code {other_code}",
                    file=table.file,
                    sheet=table.sheet,
                    row=number,
                )
            names[key] = (number, term.meddra_code)
            terms[term.meddra_code] = (number, term)
        if on_progress is not None:
            on_progress(done, total)
    return CtcaeDictionary(
        version=label,
        source=table.file.name,
        terms=tuple(term for _, term in terms.values()),
    )


def _cell(cells: Sequence[object], positions: dict[str, int], key: str) -> object:
    index = positions.get(key)
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _parse_row(
    table: _Table, number: int, cells: Sequence[object], positions: dict[str, int]
) -> CtcaeTerm:
    def fail(problem: str) -> DictionaryImportError:
        return DictionaryImportError(problem, file=table.file, sheet=table.sheet, row=number)

    raw_code = _cell(cells, positions, "meddra_code")
    code = _meddra_code(raw_code)
    if code is None:
        raise fail(f"MedDRA code {raw_code!r} is not an 8-digit code")
    name = _clean_name(_cell(cells, positions, "term"))
    if name is None:
        raise fail(f"MedDRA code {code} has no CTCAE term name")
    soc_name = _clean_name(_cell(cells, positions, "soc_name"))
    if soc_name is None:
        raise fail(f"term {name!r} has no MedDRA SOC")
    soc_code: str | None = None
    if "soc_code" in positions:
        raw_soc_code = _cell(cells, positions, "soc_code")
        if clean_text(raw_soc_code) is not None:
            soc_code = _meddra_code(raw_soc_code)
            if soc_code is None:
                raise fail(f"MedDRA SOC code {raw_soc_code!r} is not an 8-digit code")

    grades: list[GradeDefinition] = []
    for grade in GRADES:
        text = clean_text(_cell(cells, positions, f"grade_{grade}"))
        if text is None:
            raise fail(
                f"term {name!r}: the Grade {grade} cell is empty; NCI writes '-' for a grade "
                "that does not exist"
            )
        grades.append(GradeDefinition(grade, None if text in _NOT_DEFINED_MARKERS else text))
    if not any(g.is_defined for g in grades):
        raise fail(f"term {name!r} defines no grade at all")

    return CtcaeTerm(
        meddra_code=code,
        name=name,
        soc=SystemOrganClass(soc_name, soc_code),
        grades=tuple(grades),
        definition=_optional_text(_cell(cells, positions, "definition")),
        navigational_note=_optional_text(_cell(cells, positions, "navigational_note")),
        change_note=_optional_text(_cell(cells, positions, "change_note")),
        is_other_specify=name.casefold().endswith(_OTHER_SPECIFY_SUFFIX),
    )


def _optional_text(value: object) -> str | None:
    """Free text where NCI writes '-' for "none" (the definitions of the Other, specify terms)."""
    text = clean_text(value)
    return None if text is None or text in _NOT_DEFINED_MARKERS else text


def _check_soc_code(
    table: _Table,
    number: int,
    term: CtcaeTerm,
    seen: dict[str, tuple[int, str | None]],
) -> None:
    """One SOC name must carry one SOC code throughout the sheet."""
    previous = seen.setdefault(term.soc.name, (number, term.soc.meddra_code))
    first_row, first_code = previous
    if first_code != term.soc.meddra_code:
        raise DictionaryImportError(
            f"SOC {term.soc.name!r} has code {term.soc.meddra_code} here but {first_code} on "
            f"row {first_row}",
            file=table.file,
            sheet=table.sheet,
            row=number,
        )
