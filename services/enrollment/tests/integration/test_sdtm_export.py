"""Enrollment's SDTM domains from a small trial worked through the API: a treated subject, a
screen failure and a subject withdrawn before dosing; then the study package written from them,
every file checked against its standard, and nothing but study identifiers in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pyreadstat
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import doseline.sdtm
from doseline.auth import Role
from doseline.manifest import ServiceManifest
from doseline.sdtm import DataCut, Dataset
from doseline.sdtm.define_xml import check_define_xml
from doseline.sdtm.export import export_package, study_datasets
from enrollment.manifest import SERVICE
from enrollment.subjects.models import Subject

from .conftest import Site, eligible_answers
from .test_withdrawal import withdraw

SCHEMA = Path(doseline.sdtm.__file__).with_name("schemas") / "dataset.schema.json"


@pytest.fixture
def trial(site: Site) -> dict[str, str]:
    treated = site.register()
    site.consent(treated, site.site_day(-20))
    screening = site.screen(treated, subject_facts={"sex": "female", "birth_date": "1970-06-15"})
    site.ok(site.sign_off(treated, screening))
    site.ok(site.enrol(treated), 201)
    site.treat(treated)  # weighed on day -14, infused on days -12, -9, -6, -3
    site.ok(
        site.api.post(
            f"/v1/subjects/{treated}/visits",
            json={"visit_id": "baseline", "visit_date": site.site_day(-13).isoformat()},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )
    failed = site.register()
    site.consent(failed)
    answers = eligible_answers(site.site_day(-25), site.site_day(-20))
    answers["INC-05"] = {"value": 16}
    site.screen(failed, answers)
    withdrawn = site.enrolled_subject()
    site.ok(withdraw(site, withdrawn), 201)
    return {"treated": treated, "failed": failed, "withdrawn": withdrawn}


def _cut(site: Site) -> DataCut:
    return DataCut(site.trial, datetime.now(UTC) + timedelta(seconds=1))


def _by_name(found: list[Dataset]) -> dict[str, Dataset]:
    return {dataset.domain.name: dataset for dataset in found}


def _records(dataset: Dataset, subject: str) -> list[dict[str, Any]]:
    return [dict(r) for r in dataset.records if r.get("USUBJID") == subject]


def test_every_domain_of_enrollment_at_the_cut(site: Site, trial: dict[str, str]) -> None:
    assert SERVICE.sdtm is not None
    with site.sessions() as session:
        found = _by_name(list(SERVICE.sdtm(session, _cut(site))))
    assert sorted(found) == ["DM", "DS", "EC", "EX", "SV", "TA", "TE", "TI", "TS", "TV", "VS"]
    treated, failed, withdrawn = trial["treated"], trial["failed"], trial["withdrawn"]
    day_1 = site.site_day(-12)

    (dm,) = _records(found["DM"], treated)
    assert dm["USUBJID"] == treated == f"{site.trial}-{dm['SUBJID']}"
    assert dm["RFSTDTC"].startswith(day_1.isoformat())
    assert dm["RFXENDTC"].startswith(site.site_day(-3).isoformat())
    assert dm["RFICDTC"] == site.site_day(-20).isoformat()
    assert (dm["SEX"], dm["AGEU"], dm["COUNTRY"], dm["SITEID"]) == ("F", "YEARS", "CHN", "WCH")
    consent = site.site_day(-20)
    assert dm["AGE"] == consent.year - 1970 - ((consent.month, consent.day) < (6, 15))
    assert (dm["ARMCD"], dm["ACTARMCD"], dm["ARMNRS"]) == ("DL1", "DL1", None)
    assert dm["DMDY"] == -7  # screened on day -19 of the site calendar, first infusion day -12
    (screen_failure,) = _records(found["DM"], failed)
    assert (screen_failure["ARMCD"], screen_failure["ARMNRS"]) == (None, "SCREEN FAILURE")
    assert screen_failure["AGE"] == 16  # no birth date: the age answered at screening
    assert screen_failure["SEX"] == "U"
    (not_treated,) = _records(found["DM"], withdrawn)
    assert (not_treated["ARMCD"], not_treated["ARMNRS"]) == ("DL1", "ASSIGNED, NOT TREATED")

    exposure = _records(found["EX"], treated)
    assert [r["EXSTDY"] for r in exposure] == [1, 4, 7, 10]
    assert {r["EXDOSU"] for r in exposure} == {"cells/kg"}
    assert {r["EXDOSE"] for r in exposure} == {330000.0}
    collected = _records(found["EC"], treated)
    assert {r["ECDOSU"] for r in collected} == {"cells"}
    assert {r["ECDOSE"] for r in collected} == {2.06e7}  # 3.3e5 x 62.5 kg, 3 significant figures
    assert {r["EXROUTE"] for r in exposure} == {"INTRAVENOUS"}

    (weight,) = _records(found["VS"], treated)
    assert (weight["VSSTRESN"], weight["VSORRES"], weight["VSBLFL"]) == (62.5, "62.5", "Y")
    assert weight["VSDY"] == -2  # day -14: two days before day 1, no day 0

    visits = {r["VISIT"]: r for r in _records(found["SV"], treated)}
    assert sorted(visits) == [
        "BASELINE",
        "INFUSION 1",
        "INFUSION 2",
        "INFUSION 3",
        "INFUSION 4",
        "SCREENING",
    ]
    assert visits["BASELINE"]["SVSTDY"] == -1
    assert visits["INFUSION 4"]["VISITDY"] == 10

    def decods(subject: str) -> list[str]:
        return [
            r["DSDECOD"] for r in sorted(_records(found["DS"], subject), key=lambda r: r["DSSEQ"])
        ]

    assert decods(treated) == ["INFORMED CONSENT OBTAINED", "ELIGIBILITY CRITERIA MET", "ENROLLED"]
    assert decods(failed) == ["INFORMED CONSENT OBTAINED", "SCREEN FAILURE"]
    assert decods(withdrawn)[-1] == "WITHDRAWAL BY SUBJECT"

    assert [r["IETESTCD"] for r in found["TI"].records] == [f"INC0{n}" for n in range(1, 7)]
    ts = {r["TSPARMCD"]: r for r in found["TS"].records if r["TSSEQ"] == 1}
    assert ts["TPHASE"]["TSVAL"] == "PHASE I TRIAL"
    assert ts["AGEMIN"]["TSVAL"] == "P18Y"
    assert ts["AGEMAX"]["TSVALNF"] == "PINF"
    assert ts["PLANSUB"]["TSVAL"] == "15"
    assert ts["SSTDTC"]["TSVAL"] == site.site_day(-20).isoformat()
    assert ts["ACTSUB"]["TSVAL"] == "2"
    assert {(r["ARMCD"], r["TAETORD"], r["ETCD"]) for r in found["TA"].records} >= {
        ("DL1", 1, "SCRN"),
        ("DL1", 2, "DL1"),
        ("DL2", 3, "FU"),
    }


def test_a_row_recorded_after_the_cut_is_not_in_the_export(
    site: Site, trial: dict[str, str]
) -> None:
    before_the_weights = DataCut(site.trial, site.now - timedelta(days=400))
    assert SERVICE.sdtm is not None
    with site.sessions() as session:
        found = _by_name(list(SERVICE.sdtm(session, before_the_weights)))
    assert found["DM"].records == ()
    assert found["TS"].records  # the design is the protocol's, whatever the cut


def test_the_package_of_the_trial_is_valid_reproducible_and_holds_no_hospital_identifier(
    site: Site, trial: dict[str, str], tmp_path: Path
) -> None:
    @contextmanager
    def opened(_manifest: ServiceManifest) -> Iterator[Session]:
        with site.sessions() as session:
            yield session

    cut = _cut(site)
    services: dict[str, ServiceManifest] = {"enrollment": SERVICE}
    manifest = json.loads(export_package(services, cut, tmp_path / "one", opened).read_text())
    export_package(services, cut, tmp_path / "two", opened)
    files = [entry["path"] for entry in manifest["files"]]
    for path in [*files, "manifest.json"]:
        assert (tmp_path / "one" / path).read_bytes() == (tmp_path / "two" / path).read_bytes()
    assert manifest["protocol_version"] == "1.0"
    assert manifest["study_id"] == site.trial

    schema = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for path in files:
        if path.startswith("json/"):
            schema.validate(json.loads((tmp_path / "one" / path).read_text(encoding="utf-8")))
        if path.endswith(".xpt"):
            _frame, meta = pyreadstat.read_xport(tmp_path / "one" / path)
            assert meta.table_name == Path(path).stem.upper()
            described = json.loads(
                (tmp_path / "one" / "json" / f"{Path(path).stem}.json").read_text(encoding="utf-8")
            )
            assert meta.column_names == [column["name"] for column in described["columns"]]
            assert meta.column_labels == [column["label"] for column in described["columns"]]
            for column in described["columns"]:  # one width for a string in every format
                if column["dataType"] == "string":
                    assert meta.variable_storage_width[column["name"]] == column["length"]
    check_define_xml(tmp_path / "one" / "define.xml")

    with site.sessions() as session:
        hashes = list(session.scalars(select(Subject.hospital_id_hash)))
    everything = b"".join((tmp_path / "one" / path).read_bytes() for path in files)
    assert all(digest.encode() not in everything for digest in hashes if digest)
    dm = json.loads((tmp_path / "one" / "json" / "dm.json").read_text(encoding="utf-8"))
    assert {row[2] for row in dm["rows"]} == set(trial.values())


def test_the_command_writes_the_package_of_the_running_instance(
    site: Site,
    trial: dict[str, str],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from doseline.commands import app

    monkeypatch.setenv("DOSELINE_STATE_DIR", str(tmp_path / "no-instance"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("ENROLLMENT", "SAFETY", "IMAGING", "NOTIFICATIONS"):
        monkeypatch.delenv(f"{name}_DATABASE_URL", raising=False)
    cut = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    runner = CliRunner()
    out = tmp_path / "package"
    done = runner.invoke(
        app, ["sdtm-package", "--trial", site.trial, "--data-cut", cut, "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"DM", "EX", "TS"} <= set(manifest["datasets"])
    again = runner.invoke(
        app, ["sdtm-package", "--trial", site.trial, "--data-cut", cut, "--out", str(out)]
    )
    assert again.exit_code == 2
    assert "not an empty directory" in again.output
    unknown = runner.invoke(
        app, ["sdtm-package", "--trial", "NO-SUCH", "--data-cut", cut, "--out", str(tmp_path / "x")]
    )
    assert unknown.exit_code == 2
    assert "no trial NO-SUCH" in unknown.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("30/06/2026", "not an ISO 8601 date-time"), ("2026-06-30T23:59:59", "time zone")],
)
def test_the_command_names_a_data_cut_it_cannot_read(
    value: str, message: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from doseline.commands import app

    done = CliRunner().invoke(
        app, ["sdtm-package", "--trial", "T", "--data-cut", value, "--out", str(tmp_path / "o")]
    )
    assert done.exit_code == 2
    assert message in done.output


def test_a_package_needs_exactly_one_service_to_name_the_study() -> None:
    def never(_manifest: ServiceManifest) -> NoReturn:
        raise AssertionError("no session is opened before the services are checked")

    cut = DataCut("HDMSC-RP-01", datetime(2026, 6, 30, tzinfo=UTC))
    nameless = replace(SERVICE, sdtm_study=None)
    with pytest.raises(ValueError, match=r"exactly one installed service must declare the study"):
        study_datasets({"enrollment": nameless}, cut, never)
    with pytest.raises(ValueError, match=r"\['enrollment', 'enrollment'\]"):
        study_datasets({"one": SERVICE, "two": SERVICE}, cut, never)
