"""Datasets of one domain from two services merged into one: metadata, order, --SEQ."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from doseline.sdtm import DataCut, Dataset, Domain, Study, Variable
from doseline.sdtm.define_xml import check_define_xml, define_xml
from doseline.sdtm.mapping import mapping_table
from doseline.sdtm.merge import ALSO, merge_datasets, merge_domains

STUDY = Study("HDMSC-RP-01", "hMSC in radiation pneumonitis, phase I", "1.2")
CUT = DataCut("HDMSC-RP-01", datetime(2026, 4, 1, 18, 30, tzinfo=UTC))
KEYS = ("STUDYID", "USUBJID", "LBTESTCD", "LBDTC", "LBSEQ")


def _lb(service: str, *extra: Variable, unit_source: str | None = None) -> Domain:
    variables = [
        Variable(
            "STUDYID", "Study Identifier", "string", "Identifier", "Req", "assigned: trial", 20
        ),
        Variable("DOMAIN", "Domain Abbreviation", "string", "Identifier", "Req", "derived: LB", 2),
        Variable("USUBJID", "Unique Subject Identifier", "string", "Identifier", "Req", "x", 40),
        Variable("LBSEQ", "Sequence Number", "integer", "Identifier", "Req", "derived: order"),
        Variable(
            "LBTESTCD",
            "Lab Test or Examination Short Name",
            "string",
            "Topic",
            "Req",
            f"{service}.test",
            8 if service == "safety" else 6,
            "C65047",
        ),
        Variable(
            "LBORRESU",
            "Original Units",
            "string",
            "Variable Qualifier",
            "Exp",
            unit_source or f"{service}.unit",
            20,
            "C71620",
        ),
        *extra,
        Variable("LBDTC", "Date/Time of Specimen Collection", "date", "Timing", "Exp", "x"),
    ]
    return Domain(
        "LB",
        "Laboratory Test Results",
        "Findings",
        "One record per lab test per time point per visit per subject",
        KEYS,
        tuple(variables),
    )


LOINC = Variable("LBLOINC", "LOINC Code", "string", "Synonym Qualifier", "Perm", "safety.loinc", 20)
SPEC = Variable("LBSPEC", "Specimen Type", "string", "Record Qualifier", "Perm", "derived: A", 20)
SAFETY = _lb("safety", LOINC)
IMAGING = _lb(
    "imaging", replace(LOINC, source="imaging.loinc"), SPEC, unit_source="derived: the CT unit"
)


def _row(subject: str, seq: int, test: str, on: str, **extra: Any) -> dict[str, Any]:
    return {
        "STUDYID": "HDMSC-RP-01",
        "DOMAIN": "LB",
        "USUBJID": f"HDMSC-RP-01-{subject}",
        "LBSEQ": seq,
        "LBTESTCD": test,
        "LBORRESU": None,
        "LBDTC": on,
        **extra,
    }


LABS = Dataset(
    SAFETY,
    (
        _row("001", 1, "NEUT", "2026-03-10", LBORRESU="10^9/L", LBLOINC="751-8"),
        _row("001", 2, "HGB", "2026-03-12", LBORRESU="g/dL", LBLOINC="718-7"),
        _row("002", 1, "NEUT", "2026-03-11", LBORRESU="10^9/L", LBLOINC="751-8"),
    ),
)
GASES = Dataset(
    IMAGING,
    (
        _row("001", 1, "PH", "2026-03-10", LBLOINC="2744-1", LBSPEC="ARTERIAL BLOOD"),
        _row("001", 2, "PO2", "2026-03-10", LBORRESU="mmHg", LBSPEC="ARTERIAL BLOOD"),
    ),
)


def test_the_variables_are_the_union_in_each_services_order_with_every_source() -> None:
    merged = merge_domains([SAFETY, IMAGING])
    assert [v.name for v in merged.variables] == [
        *("STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBORRESU"),
        *("LBLOINC", "LBSPEC", "LBDTC"),
    ]
    assert merged.variable("LBTESTCD").length == 8
    assert merged.variable("LBTESTCD").source == f"safety.test{ALSO}imaging.test"
    assert merged.variable("STUDYID").source == "assigned: trial"
    table = mapping_table([SAFETY, IMAGING])
    assert table.count("| LB.LBTESTCD |") == 1
    assert (
        "| LB.LBORRESU | Original Units | string | Exp | Collected, Derived | safety.unit; the CT "
        "unit (CT C71620) |" in table
    )


def test_records_are_sorted_by_key_and_seq_is_numbered_again_per_subject() -> None:
    [merged] = merge_datasets([LABS, GASES])
    assert [(str(r["USUBJID"])[-3:], r["LBTESTCD"], r["LBSEQ"]) for r in merged.records] == [
        ("001", "HGB", 1),
        ("001", "NEUT", 2),
        ("001", "PH", 3),
        ("001", "PO2", 4),
        ("002", "NEUT", 1),
    ]
    assert merge_datasets([GASES, LABS]) == [
        Dataset(merge_domains([IMAGING, SAFETY]), merged.records)
    ]
    assert merge_datasets([LABS]) == [LABS]


def test_the_define_xml_of_a_merged_domain_gives_each_origin_and_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "define.xml"
    path.write_bytes(define_xml(merge_datasets([LABS, GASES]), STUDY, CUT))
    check_define_xml(path)
    text = path.read_text(encoding="utf-8")
    start = text.rindex("<ItemDef ", 0, text.index('OID="IT.LB.LBORRESU" Name='))
    unit = text[start : text.index("</ItemDef>", start)]
    assert '<def:Origin Type="Collected" Source="Investigator" />' in unit
    assert '<def:Origin Type="Derived" />' in unit


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (
            Domain(
                "LB",
                "Laboratory Test Results",
                "Findings",
                "One record per lab test per subject",
                KEYS,
                IMAGING.variables,
            ),
            "different structure",
        ),
        (
            _lb(
                "imaging",
                Variable("LBLOINC", "LOINC", "string", "Synonym Qualifier", "Perm", "x", 9),
            ),
            r"LB\.LBLOINC is declared with different label",
        ),
    ],
    ids=["structure", "variable-label"],
)
def test_domains_whose_metadata_differ_are_not_merged(other: Domain, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_datasets([LABS, Dataset(other, ())])


def test_a_domain_with_supplemental_qualifiers_is_not_merged() -> None:
    supplemental = Domain(
        "SUPPLB",
        "Supplemental Qualifiers for LB",
        "Relationship",
        "One record per supplemental qualifier per related parent record per subject",
        ("STUDYID",),
        (Variable("STUDYID", "Study Identifier", "string", "Identifier", "Req", "x", 20),),
    )
    with pytest.raises(ValueError, match="SUPPLB"):
        merge_datasets([LABS, GASES, Dataset(supplemental, ())])
