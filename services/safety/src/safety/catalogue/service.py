"""Storing an imported CTCAE dictionary (idempotent, versioned) and reading terms back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from doseline import audit
from doseline.errors import Conflict, NotFound
from safety.catalogue import repository
from safety.catalogue.models import CtcaeTermRow, CtcaeVersionRow
from safety.dictionary.spreadsheet import ProgressCallback, read_ctcae
from safety.dictionary.terms import CtcaeDictionary, CtcaeTerm, GradeDefinition, SystemOrganClass
from safety.problems import CTCAE_TERM_NOT_FOUND, CTCAE_VERSION_EXISTS, CTCAE_VERSION_NOT_LOADED

ImportStatus = Literal["imported", "unchanged", "replaced"]


@dataclass(frozen=True)
class ImportOutcome:
    version: str
    status: ImportStatus
    term_count: int
    soc_count: int
    source_sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    session: Session,
    path: Path,
    *,
    version: str | None,
    replace: bool,
    actor: str,
    source_name: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportOutcome:
    """Read an NCI workbook or CSV and store it; the same file twice changes nothing."""
    sha256 = file_sha256(path)
    dictionary = read_ctcae(path, version=version, on_progress=on_progress)
    return store_dictionary(
        session,
        dictionary,
        source_file=source_name or path.name,
        source_sha256=sha256,
        replace=replace,
        actor=actor,
    )


def store_dictionary(
    session: Session,
    dictionary: CtcaeDictionary,
    *,
    source_file: str,
    source_sha256: str,
    replace: bool,
    actor: str,
) -> ImportOutcome:
    """Store one version; a different file for a stored version is refused unless `replace`."""
    existing = repository.version_row_for_update(session, dictionary.version)
    soc_count = len(dictionary.system_organ_classes)
    if existing is not None and existing.source_sha256 == source_sha256:
        return ImportOutcome(
            dictionary.version, "unchanged", existing.term_count, existing.soc_count, source_sha256
        )
    if existing is not None and not replace:
        raise Conflict(
            f"CTCAE v{dictionary.version} is already loaded from {existing.source_file} "
            f"(sha256 {existing.source_sha256[:12]}…); this file differs. Import it with "
            "replace (CLI --replace, API ?replace=true) if it is meant to supersede it",
            problem=CTCAE_VERSION_EXISTS,
            extra={"version": dictionary.version, "loaded_sha256": existing.source_sha256},
        )
    before = None
    now = datetime.now(UTC)
    if existing is not None:
        before = _version_summary(existing)
        repository.delete_terms(session, dictionary.version)
        row = existing
        row.source_file = source_file
        row.source_sha256 = source_sha256
        row.term_count = len(dictionary)
        row.soc_count = soc_count
        row.imported_at = now
        row.imported_by = actor
    else:
        row = CtcaeVersionRow(
            version=dictionary.version,
            source_file=source_file,
            source_sha256=source_sha256,
            term_count=len(dictionary),
            soc_count=soc_count,
            imported_at=now,
            imported_by=actor,
        )
        session.add(row)
    session.flush()
    repository.insert_terms(
        session,
        [
            _term_values(dictionary.version, position, term)
            for position, term in enumerate(dictionary)
        ],
    )
    audit.record(
        session,
        actor=actor,
        action="ctcae.replace" if existing is not None else "ctcae.import",
        entity_type="ctcae_version",
        entity_id=dictionary.version,
        before=before,
        after=_version_summary(row),
        reason="re-import of a corrected dictionary file" if existing is not None else None,
    )
    return ImportOutcome(
        dictionary.version,
        "replaced" if existing is not None else "imported",
        len(dictionary),
        soc_count,
        source_sha256,
    )


def _version_summary(row: CtcaeVersionRow) -> dict[str, object]:
    return {
        "version": row.version,
        "source_file": row.source_file,
        "source_sha256": row.source_sha256,
        "term_count": row.term_count,
        "soc_count": row.soc_count,
    }


def _term_values(version: str, position: int, term: CtcaeTerm) -> dict[str, object]:
    grades = {f"grade_{g.grade}": g.text for g in term.grades}
    return {
        "ctcae_version": version,
        "meddra_code": term.meddra_code,
        "position": position,
        "name": term.name,
        "name_key": term.name.casefold(),
        "soc_name": term.soc.name,
        "soc_code": term.soc.meddra_code,
        "definition": term.definition,
        "navigational_note": term.navigational_note,
        "change_note": term.change_note,
        "is_other_specify": term.is_other_specify,
        **grades,
    }


def loaded_versions(session: Session) -> Sequence[CtcaeVersionRow]:
    return repository.all_versions(session)


def search_terms(
    session: Session, version: str, *, text: str | None, soc: str | None, limit: int
) -> Sequence[CtcaeTermRow]:
    """Typeahead over a loaded version: name fragment, MedDRA code or SOC."""
    require_version(session, version)
    return repository.search(session, version, text=text, soc=soc, limit=limit)


def is_loaded(session: Session, version: str) -> bool:
    return repository.version_row(session, version) is not None


def require_version(session: Session, version: str) -> CtcaeVersionRow:
    row = repository.version_row(session, version)
    if row is None:
        loaded = [v.version for v in repository.all_versions(session)]
        raise NotFound(
            f"CTCAE v{version} is not loaded; loaded versions: {loaded or 'none'}. "
            "An administrator imports it with `doseline safety ctcae-import PATH` (v5.0 ships with "
            "Doseline and loads at start-up)",
            problem=CTCAE_VERSION_NOT_LOADED,
        )
    return row


def require_term(session: Session, version: str, meddra_code: str) -> CtcaeTermRow:
    # A term's version is loaded (foreign key): the version is read only to say which is
    # missing. A term read before in the same transaction comes from the session's identity map.
    row = repository.term_row(session, version, meddra_code)
    if row is None:
        require_version(session, version)
        raise NotFound(
            f"CTCAE v{version} has no term with MedDRA code {meddra_code}; search "
            f"/v1/ctcae/versions/{version}/terms?q=… for the code",
            problem=CTCAE_TERM_NOT_FOUND,
        )
    return row


def as_term(row: CtcaeTermRow) -> CtcaeTerm:
    """The stored row as the pure dictionary's value, for the grading and validation rules."""
    return CtcaeTerm(
        meddra_code=row.meddra_code,
        name=row.name,
        soc=SystemOrganClass(row.soc_name, row.soc_code),
        grades=tuple(
            GradeDefinition(grade, text) for grade, text in enumerate(row.grade_texts(), start=1)
        ),
        definition=row.definition,
        navigational_note=row.navigational_note,
        change_note=row.change_note,
        is_other_specify=row.is_other_specify,
    )
