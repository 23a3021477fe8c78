"""The SDTM writers: Dataset-JSON valid against CDISC's schema, XPT read back by pyreadstat with
the same values, labels and lengths, Define-XML valid against the Define-XML 2.1 XSD, and the
package byte-identical when exported twice from the same data."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pyreadstat
import pytest

from doseline.sdtm import DataCut, Dataset, Domain, Study, Variable
from doseline.sdtm.controlled_terminology import ct_version
from doseline.sdtm.dataset_json import dataset_json
from doseline.sdtm.define_xml import check_define_xml, define_xml
from doseline.sdtm.package import MANIFEST, package_files, write_package
from doseline.sdtm.xpt import xpt

SCHEMA = (
    Path(__import__("doseline.sdtm").sdtm.__file__).with_name("schemas") / "dataset.schema.json"
)

VS = Domain(
    "VS",
    "Vital Signs",
    "Findings",
    "One record per vital sign measurement per visit per subject",
    ("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM"),
    (
        Variable(
            "STUDYID", "Study Identifier", "string", "Identifier", "Req", "assigned: trial", 20
        ),
        Variable("DOMAIN", "Domain Abbreviation", "string", "Identifier", "Req", "assigned: VS", 2),
        Variable(
            "USUBJID",
            "Unique Subject Identifier",
            "string",
            "Identifier",
            "Req",
            "derived: STUDYID-SUBJID",
            40,
        ),
        Variable("VSSEQ", "Sequence Number", "integer", "Identifier", "Req", "derived: order"),
        Variable(
            "VSTESTCD",
            "Vital Signs Test Short Name",
            "string",
            "Topic",
            "Req",
            "assigned: WEIGHT",
            8,
            "C66741",
        ),
        Variable(
            "VSORRES",
            "Result or Finding in Original Units",
            "string",
            "Result Qualifier",
            "Exp",
            "visits.weight_kg",
            20,
        ),
        Variable(
            "VSSTRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            "Result Qualifier",
            "Exp",
            "visits.weight_kg",
        ),
        Variable(
            "VSSTRESU",
            "Standard Units",
            "string",
            "Variable Qualifier",
            "Exp",
            "assigned: kg",
            8,
            "C66770",
        ),
        Variable("VISITNUM", "Visit Number", "float", "Timing", "Exp", "visits.number"),
        Variable(
            "VSDTC", "Date/Time of Measurements", "datetime", "Timing", "Exp", "visits.performed_at"
        ),
        Variable(
            "VSDY",
            "Study Day of Vital Signs",
            "integer",
            "Timing",
            "Perm",
            "derived: study_day(VSDTC, RFSTDTC)",
        ),
        Variable(
            "VSBLFL",
            "Baseline Flag",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: last before first infusion",
            1,
            "C66742",
        ),
    ),
)


def _weight(
    subject: str, seq: int, visit: float, kg: float | None, day: int | None
) -> dict[str, Any]:
    return {
        "STUDYID": "HDMSC-RP-01",
        "DOMAIN": "VS",
        "USUBJID": f"HDMSC-RP-01-{subject}",
        "VSSEQ": seq,
        "VSTESTCD": "WEIGHT",
        "VSORRES": None if kg is None else f"{kg:g}",
        "VSSTRESN": kg,
        "VSSTRESU": None if kg is None else "kg",
        "VISITNUM": visit,
        "VSDTC": None if day is None else f"2026-03-{9 + day:02d}T09:30:00",
        "VSDY": day,
        "VSBLFL": "Y" if visit == 1 else None,
    }


RECORDS = (
    _weight("002", 1, 1.0, 81.5, 1),
    _weight("001", 2, 2.0, 70.25, 8),
    _weight("001", 1, 1.0, 71.0, -1),
    _weight("002", 2, 2.0, None, None),
)
STUDY = Study("HDMSC-RP-01", "hMSC in radiation pneumonitis, phase I", "1.2")
CUT = DataCut("trial-1", datetime(2026, 4, 1, 18, 30, tzinfo=UTC))


@pytest.fixture
def vital_signs() -> Dataset:
    return Dataset(VS, RECORDS)


def test_dataset_json_is_valid_against_the_published_schema_with_rows_in_key_order(
    vital_signs: Dataset,
) -> None:
    document = json.loads(dataset_json(vital_signs, STUDY, CUT))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator(schema).validate(document)
    assert document["datasetJSONVersion"] == "1.1.0"
    assert document["datasetJSONCreationDateTime"] == "2026-04-01T18:30:00+00:00"
    assert document["records"] == 4
    names = [column["name"] for column in document["columns"]]
    assert names[:4] == ["STUDYID", "DOMAIN", "USUBJID", "VSSEQ"]
    keys = {c["name"]: c["keySequence"] for c in document["columns"] if "keySequence" in c}
    assert keys == {"STUDYID": 1, "USUBJID": 2, "VSTESTCD": 3, "VISITNUM": 4}
    usubjid, visit = names.index("USUBJID"), names.index("VISITNUM")
    assert [(row[usubjid], row[visit]) for row in document["rows"]] == [
        ("HDMSC-RP-01-001", 1.0),
        ("HDMSC-RP-01-001", 2.0),
        ("HDMSC-RP-01-002", 1.0),
        ("HDMSC-RP-01-002", 2.0),
    ]
    missing = document["rows"][3]
    assert missing[names.index("VSSTRESN")] is None  # null: missing, as the standard says
    assert missing[names.index("VSDY")] is None
    assert document["rows"][0][names.index("VSDY")] == -1


def test_xpt_reads_back_with_the_same_values_labels_and_lengths(
    vital_signs: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "vs.xpt"
    path.write_bytes(xpt(vital_signs, CUT))
    frame, meta = pyreadstat.read_xport(path)
    assert meta.table_name == "VS"
    assert meta.file_label == "Vital Signs"
    assert meta.column_names == [variable.name for variable in VS.variables]
    assert meta.column_labels == [variable.label for variable in VS.variables]
    assert meta.variable_storage_width["USUBJID"] == len("HDMSC-RP-01-001")
    assert meta.variable_storage_width["VSBLFL"] == 1
    assert meta.creation_time == datetime(2026, 4, 1, 18, 30)  # noqa: DTZ001 (XPT has no zone)
    rows = frame.to_dict("records")
    assert [row["VSSTRESN"] for row in rows][:3] == [71.0, 70.25, 81.5]
    assert rows[0]["VSDY"] == -1
    assert rows[0]["VSDTC"] == "2026-03-08T09:30:00"
    assert rows[3]["VSORRES"] == ""  # XPT has no null text: blank
    assert rows[3]["VSDY"] != rows[3]["VSDY"]  # a missing number reads back as NaN


def test_a_value_longer_than_its_variable_is_refused_before_any_file_is_written() -> None:
    record = dict(RECORDS[0], VSORRES="x" * 21)
    with pytest.raises(ValueError, match=r"VS\.VSORRES: a value is 21 characters"):
        xpt(Dataset(VS, (record,)), CUT)


def test_a_value_outside_a_non_extensible_codelist_is_refused() -> None:
    record = dict(RECORDS[0], VSBLFL="X")
    with pytest.raises(ValueError, match="C66742"):
        define_xml([Dataset(VS, (record,))], STUDY, CUT)


def test_define_xml_is_valid_against_the_define_xml_2_1_schema(
    vital_signs: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "define.xml"
    path.write_bytes(define_xml([vital_signs], STUDY, CUT))
    check_define_xml(path)
    text = path.read_text(encoding="utf-8")
    assert 'def:Structure="One record per vital sign measurement per visit per subject"' in text
    assert (
        '<ItemRef ItemOID="IT.VS.VISITNUM" OrderNumber="9" Mandatory="No" Role="Timing" '
        'KeySequence="4"' in text
    )
    assert 'Name="USUBJID" DataType="text" SASFieldName="USUBJID" Length="15"' in text
    assert '<def:Origin Type="Derived" />' in text
    assert 'MethodOID="MT.VS.VSDY"' in text
    assert '<def:Class Name="FINDINGS" />' in text
    assert 'xlink:href="vs.xpt"' in text
    assert (
        '<EnumeratedItem CodedValue="kg" OrderNumber="1">'
        '<Alias Context="nci:ExtCodeID" Name="C28252" />' in text
    )
    assert 'Version="2025-03-28"' in text


def test_the_package_lists_every_file_with_its_digest_and_is_the_same_bytes_twice(
    vital_signs: Dataset, tmp_path: Path
) -> None:
    first = write_package([vital_signs], STUDY, CUT, tmp_path / "one")
    second = write_package([Dataset(VS, tuple(reversed(RECORDS)))], STUDY, CUT, tmp_path / "two")
    files = sorted(
        p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file()
    )
    assert [str(p) for p in files] == ["define.xml", "json/vs.json", MANIFEST, "vs.xpt"]
    for relative in files:
        assert (tmp_path / "one" / relative).read_bytes() == (
            tmp_path / "two" / relative
        ).read_bytes()
    manifest = json.loads(first.read_text(encoding="utf-8"))
    assert second.read_bytes() == first.read_bytes()
    assert manifest["data_cut"] == "2026-04-01T18:30:00+00:00"
    assert manifest["protocol_version"] == "1.2"
    assert manifest["controlled_terminology"] == ct_version() == "SDTM CT 2025-03-28"
    for entry in manifest["files"]:
        data = (tmp_path / "one" / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_package_is_not_written_over_another_and_a_failure_leaves_nothing(
    vital_signs: Dataset, tmp_path: Path
) -> None:
    write_package([vital_signs], STUDY, CUT, tmp_path / "out")
    with pytest.raises(FileExistsError):
        write_package([vital_signs], STUDY, CUT, tmp_path / "out")
    broken = Dataset(VS, (dict(RECORDS[0], VSBLFL="X"),))
    with pytest.raises(ValueError, match="C66742"):
        write_package([broken], STUDY, CUT, tmp_path / "failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_one_domain_from_two_services_is_written_once(vital_signs: Dataset) -> None:
    merged = package_files([Dataset(VS, RECORDS[:2]), Dataset(VS, RECORDS[2:])], STUDY, CUT)
    whole = package_files([vital_signs], STUDY, CUT)
    assert sorted(merged) == sorted(whole)
    for path in ("json/vs.json", "vs.xpt"):  # the same rows, VSSEQ numbered in key order
        assert merged[path] == whole[path]
    assert b"per subject over every service's records" in merged["define.xml"]
