"""The CTCAE dictionary in the database: import (CLI, API, bootstrap), versions, search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from doseline.auth import Role
from doseline.settings import ServiceSettings
from doseline.testing.plugin import TokenFactory, reference_file
from safety.__main__ import app as cli
from safety.catalogue.models import CtcaeTermRow
from safety.dictionary import shipped
from safety.manifest import SERVICE
from safety.settings import SafetySettings

from .conftest import HYPOXIA, RESPIRATORY_FAILURE, WORKBOOK, Desk

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import(client: TestClient, auth: TokenFactory, path: Path, **params: str) -> Response:
    response: Response = client.post(
        "/v1/ctcae/imports",
        params={"filename": path.name, **params},
        content=path.read_bytes(),
        headers={**auth(Role.ADMIN), "Content-Type": XLSX},
    )
    return response


def test_the_nci_workbook_gives_837_terms_in_26_socs_and_the_csv_the_same_dictionary(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
) -> None:
    client = api("safety")
    first = _import(client, auth, shipped.workbook())
    assert first.status_code == 200, first.text
    assert first.json() | {"source_sha256": "-"} == {
        "version": "5.0",
        "status": "imported",
        "term_count": 837,
        "soc_count": 26,
        "source_sha256": "-",
    }
    with sessions("safety")() as session:
        from_xlsx = {
            row.meddra_code: (row.name, row.soc_name, row.grade_texts(), row.is_other_specify)
            for row in session.scalars(select(CtcaeTermRow))
        }
        assert session.scalar(select(func.count(func.distinct(CtcaeTermRow.soc_name)))) == 26

    csv = reference_file("ctcae/CTCAE_v5.0.csv")
    replaced = _import(client, auth, csv, version="5.0", replace="true")
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "replaced"
    with sessions("safety")() as session:
        from_csv = {
            row.meddra_code: (row.name, row.soc_name, row.grade_texts(), row.is_other_specify)
            for row in session.scalars(select(CtcaeTermRow))
        }
    assert from_csv == from_xlsx


def test_reimporting_the_same_file_changes_nothing_and_a_different_file_needs_replace(
    api: Callable[..., TestClient], auth: TokenFactory
) -> None:
    client = api("safety")
    assert _import(client, auth, shipped.workbook()).json()["status"] == "imported"
    assert _import(client, auth, shipped.workbook()).json()["status"] == "unchanged"
    refused = _import(client, auth, reference_file("ctcae/CTCAE_v5.0.csv"), version="5.0")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "replace" in refused.json()["detail"]


def test_grades_marked_dash_are_not_selectable(desk: Desk) -> None:
    hypoxia = desk.client.get(
        f"/v1/ctcae/versions/5.0/terms/{HYPOXIA}", headers=desk.as_(Role.MONITOR)
    ).json()
    assert hypoxia["term"] == "Hypoxia"
    assert hypoxia["defined_grades"] == [2, 3, 4, 5]
    assert hypoxia["grades"][0] == {"grade": 1, "selectable": False, "text": None}
    failure = desk.client.get(
        f"/v1/ctcae/versions/5.0/terms/{RESPIRATORY_FAILURE}", headers=desk.as_(Role.MONITOR)
    ).json()
    assert failure["defined_grades"] == [4, 5]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("pneumo", "Pneumonitis"),
        ("PNEUMONITIS", "Pneumonitis"),
        ("10021143", "Hypoxia"),
        ("anaphyl", "Anaphylaxis"),
        ("neutrophil", "Neutrophil count decreased"),
    ],
)
def test_search_finds_terms_by_name_prefix_code_or_fragment(
    desk: Desk, query: str, first: str
) -> None:
    found = desk.client.get(
        "/v1/ctcae/versions/5.0/terms", params={"q": query}, headers=desk.as_(Role.COORDINATOR)
    )
    assert found.status_code == 200, found.text
    assert found.json()[0]["term"] == first


def test_search_by_soc_lists_only_that_soc(desk: Desk) -> None:
    found = desk.client.get(
        "/v1/ctcae/versions/5.0/terms",
        params={"soc": "Respiratory, thoracic", "limit": 900},
        headers=desk.as_(Role.MONITOR),
    ).json()
    assert {term["soc"] for term in found} == {"Respiratory, thoracic and mediastinal disorders"}
    assert "Pneumonitis" in {term["term"] for term in found}


def test_search_wildcards_are_taken_literally(desk: Desk) -> None:
    found = desk.client.get(
        "/v1/ctcae/versions/5.0/terms", params={"q": "%"}, headers=desk.as_(Role.MONITOR)
    )
    assert found.status_code == 200
    assert found.json() == []


def test_an_unloaded_version_is_404_that_says_how_to_load_it(desk: Desk) -> None:
    missing = desk.client.get("/v1/ctcae/versions/6.0/terms", headers=desk.as_(Role.MONITOR))
    assert missing.status_code == 404
    assert "ctcae-import" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("content", "filename", "status"),
    [
        (b"", "x.xlsx", 422),
        (b"not a workbook", "x.xlsx", 422),
        (b"a,b\n1,2\n", "x.csv", 422),
        (b"whatever", "x.pdf", 422),
    ],
)
def test_a_bad_dictionary_file_is_a_problem_not_a_500(
    api: Callable[..., TestClient], auth: TokenFactory, content: bytes, filename: str, status: int
) -> None:
    response = api("safety").post(
        "/v1/ctcae/imports",
        params={"filename": filename, "version": "5.0"},
        content=content,
        headers={**auth(Role.ADMIN), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_only_an_administrator_imports(api: Callable[..., TestClient], auth: TokenFactory) -> None:
    response = api("safety").post(
        "/v1/ctcae/imports",
        params={"filename": WORKBOOK},
        content=shipped.workbook().read_bytes(),
        headers=auth(Role.INVESTIGATOR),
    )
    assert response.status_code == 403


def test_the_cli_imports_with_a_progress_bar_and_bootstrap_skips_a_loaded_dictionary(
    settings_for: Callable[..., ServiceSettings],
    sessions: Callable[[str], sessionmaker[Session]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for("safety")
    assert isinstance(settings, SafetySettings)
    monkeypatch.setenv("SAFETY_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["ctcae-import", str(shipped.workbook())])
    assert result.exit_code == 0, result.output
    assert "837 terms in 26 SOCs" in result.output
    again = CliRunner().invoke(cli, ["ctcae-import", str(shipped.workbook())])
    assert "unchanged" in again.output
    with sessions("safety")() as session, session.begin():
        assert SERVICE.bootstrap is not None
        lines = SERVICE.bootstrap(settings, session)
    assert lines[0] == "CTCAE v5.0 already loaded"


def test_bootstrap_imports_the_packaged_nci_workbook_when_the_dictionary_is_empty(
    settings_for: Callable[..., ServiceSettings],
    sessions: Callable[[str], sessionmaker[Session]],
) -> None:
    settings = settings_for("safety")
    assert isinstance(settings, SafetySettings)
    with sessions("safety")() as session, session.begin():
        assert SERVICE.bootstrap is not None
        lines = SERVICE.bootstrap(settings, session)
    assert lines[0] == "CTCAE v5.0 imported from NCI's workbook: 837 terms in 26 SOCs"


def test_the_cli_reports_a_bad_file_plainly(
    settings_for: Callable[..., ServiceSettings], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAFETY_DATABASE_URL", settings_for("safety").database_url)
    bad = tmp_path / "ctcae.xlsx"
    bad.write_bytes(b"nope")
    result = CliRunner().invoke(cli, ["ctcae-import", str(bad), "--version", "5.0"])
    assert result.exit_code == 1
    assert "not an Excel workbook" in result.output
