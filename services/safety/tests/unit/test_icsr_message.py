"""The E2B(R3) message builder: each element from its source, the same bytes for the same facts,
and valid against ICH's schemas (which accept the FDA's example and refuse a broken message)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from safety.icsr.message import IcsrFacts, IcsrParties, Kind, build

E2B = Path(__file__).resolve().parents[4] / "tests" / "data" / "real" / "e2b"
NS = {"hl7": "urn:hl7-org:v3"}
CASE = (
    "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:subject"
    "/hl7:investigationEvent"
)
PATIENT = f"{CASE}/hl7:component/hl7:adverseEventAssessment/hl7:subject1/hl7:primaryRole"
REACTION = f"{PATIENT}/hl7:subjectOf2/hl7:observation[hl7:code/@code='29']"
DRUG = f"{PATIENT}/hl7:subjectOf2/hl7:organizer/hl7:component/hl7:substanceAdministration"
ASSESSMENTS = f"{CASE}/hl7:component/hl7:adverseEventAssessment/hl7:component"

FACTS = IcsrFacts(
    safety_report_id="HDMSC-RP-01-00000000-0000-0000-0000-000000000005",
    message_number=1,
    kind="initial",
    created_at=datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC),
    first_received_at=datetime(2026, 3, 1, 22, 5, tzinfo=UTC),
    trial_id="HDMSC-RP-01",
    protocol_id="HDMSC-RP-01",
    protocol_version="1.0",
    site_name="West China Hospital",
    subject_id="HDMSC-RP-01-004",
    dose_level=2,
    cohort_number=3,
    first_infusion_on=date(2026, 2, 10),
    last_infusion_on=date(2026, 2, 13),
    infusions_given=2,
    ae_id=uuid.UUID(int=5),
    ae_version=1,
    ctcae_version="5.0",
    term_code="10035742",
    term="Pneumonitis",
    verbatim="worsening radiation pneumonitis, oxygen started",
    specification=None,
    onset_date=date(2026, 2, 28),
    resolution_date=date(2026, 3, 1),
    grade=3,
    seriousness=("hospitalisation",),
    attribution="possible",
    expected=False,
    action_taken="drug_interrupted",
    outcome="recovering_resolving",
    reason=None,
)
PARTIES = IcsrParties(
    sender_id="WCH-DOSELINE",
    receiver_id="SPONSOR-GATEWAY",
    country="CN",
    product_name="human dead (inactivated) mesenchymal stem cells (hDMSCs)",
    route="intravenous infusion",
)


@cache
def ich_schema() -> etree.XMLSchema:
    return etree.XMLSchema(
        etree.parse(str(E2B / "ich-schemas" / "multicacheschemas" / "MCCI_IN200100UV01.xsd"))
    )


def at(document: bytes, path: str) -> list[str]:
    found = etree.fromstring(document).xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [str(item) for item in found]


def test_the_ich_schemas_accept_the_fda_example_unmodified() -> None:
    example = etree.parse(str(E2B / "fda" / "FAERS2022Scenario3.xml"))
    assert ich_schema().validate(example), ich_schema().error_log
    # The example is a report from a study, laid out as Doseline lays its reports out.
    document = etree.tostring(example)
    characteristic = f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic"
    assert at(document, f"{characteristic}[hl7:code/@code='1']/hl7:value/@code") == ["2"]
    assert at(document, f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:id/@extension") == [
        "CT-00-00"
    ]


def test_the_ich_schemas_refuse_a_message_missing_a_required_element() -> None:
    document = etree.fromstring(build(FACTS, PARTIES))
    assert ich_schema().validate(document)
    creation = document.find("{urn:hl7-org:v3}creationTime")
    assert creation is not None
    document.remove(creation)  # N.1.5, required by MCCI_IN200100UV01
    assert not ich_schema().validate(document)
    assert "creationTime" in str(ich_schema().error_log)


@pytest.mark.parametrize("kind", ["initial", "follow_up", "nullification"])
def test_every_kind_of_message_is_valid_against_the_ich_schemas(kind: Kind) -> None:
    facts = dataclasses.replace(FACTS, kind=kind, reason="a reason")
    document = etree.fromstring(build(facts, PARTIES))
    assert ich_schema().validate(document), ich_schema().error_log


# (element, XPath, value expected from FACTS / PARTIES)
SOURCES = [
    ("N.1.3 batch sender", "/hl7:MCCI_IN200100UV01/hl7:sender/hl7:device/hl7:id/@extension",
     ["WCH-DOSELINE"]),
    ("N.1.4 batch receiver", "/hl7:MCCI_IN200100UV01/hl7:receiver/hl7:device/hl7:id/@extension",
     ["SPONSOR-GATEWAY"]),
    ("N.1.5 batch date", "/hl7:MCCI_IN200100UV01/hl7:creationTime/@value",
     ["20260302093015.0000+0000"]),
    ("N.2.r.1 message id", "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:id/@extension",
     [f"{FACTS.safety_report_id}-1"]),
    ("C.1.1 safety report id", f"{CASE}/hl7:id[@root='2.16.840.1.113883.3.989.2.1.3.1']/@extension",
     [FACTS.safety_report_id]),
    ("C.1.2 date of creation",
     "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:effectiveTime/@value",
     ["20260302093015.0000+0000"]),
    ("C.1.3 report from study",
     f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='1']/hl7:value/@code",
     ["2"]),
    ("C.1.4 first received = awareness", f"{CASE}/hl7:effectiveTime/hl7:low/@value",
     ["20260301220500.0000+0000"]),
    ("C.1.7 SUSAR: related and unexpected",
     f"{CASE}/hl7:component/hl7:observationEvent[hl7:code/@code='23']/hl7:value/@value", ["true"]),
    ("C.3.2 sender organisation = the site",
     f"{CASE}/hl7:subjectOf1/hl7:controlActEvent/hl7:author/hl7:assignedEntity"
     "/hl7:representedOrganization/hl7:assignedEntity/hl7:representedOrganization/hl7:name/text()",
     ["West China Hospital"]),
    ("C.5.3 sponsor study number = trial id",
     f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:id/@extension", ["HDMSC-RP-01"]),
    ("C.5.2 study name with the protocol",
     f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:title/text()",
     ["HDMSC-RP-01 (protocol HDMSC-RP-01 version 1.0)"]),
    ("D.1 name masked", f"{PATIENT}/hl7:player1/hl7:name/@nullFlavor", ["MSK"]),
    ("D.5 sex not held", f"{PATIENT}/hl7:player1/hl7:administrativeGenderCode/@nullFlavor",
     ["UNK"]),
    ("D.1.1.4 the only identifier: the study subject id",
     f"{PATIENT}/hl7:player1/hl7:asIdentifiedEntity/hl7:id/@extension", ["HDMSC-RP-01-004"]),
    ("E.i.1.1a reported term", f"{REACTION}/hl7:value/hl7:originalText/text()",
     ["worsening radiation pneumonitis, oxygen started"]),
    ("E.i.2.1b MedDRA code of the CTCAE term", f"{REACTION}/hl7:value/@code", ["10035742"]),
    ("E.i.2.1a MedDRA version of CTCAE v5.0", f"{REACTION}/hl7:value/@codeSystemVersion",
     ["20.1"]),
    ("E.i.4 onset", f"{REACTION}/hl7:effectiveTime/hl7:low/@value", ["20260228"]),
    ("E.i.5 resolution", f"{REACTION}/hl7:effectiveTime/hl7:high/@value", ["20260301"]),
    ("E.i.3.2c hospitalisation",
     f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='33']/hl7:value/@value",
     ["true"]),
    ("E.i.3.2a death: no information",
     f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='34']"
     "/hl7:value/@nullFlavor", ["NI"]),
    ("E.i.7 outcome recovering",
     f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='27']/hl7:value/@code",
     ["2"]),
    ("E.i.9 country", f"{REACTION}/hl7:location//hl7:code/@code", ["CN"]),
    ("G.k.2.2 the investigational product",
     f"{DRUG}/hl7:consumable/hl7:instanceOfKind/hl7:kindOfProduct/hl7:name/text()",
     ["human dead (inactivated) mesenchymal stem cells (hDMSCs)"]),
    ("G.k.4.r.8 dose level and infusions",
     f"{DRUG}/hl7:outboundRelationship2/hl7:substanceAdministration/hl7:text/text()",
     ["dose level 2, cohort 3; infusions given before this report: 2"]),
    ("G.k.4.r.4 first infusion",
     f"{DRUG}/hl7:outboundRelationship2/hl7:substanceAdministration/hl7:effectiveTime/hl7:low/@value",
     ["20260210"]),
    ("G.k.4.r.5 last infusion",
     f"{DRUG}/hl7:outboundRelationship2/hl7:substanceAdministration/hl7:effectiveTime"
     "/hl7:high/@value", ["20260213"]),
    ("G.k.8 interrupted is withdrawn", f"{DRUG}/hl7:inboundRelationship/hl7:act/hl7:code/@code",
     ["1"]),
    ("G.k.1 suspect",
     f"{ASSESSMENTS}/hl7:causalityAssessment[hl7:code/@code='20']/hl7:value/@code", ["1"]),
    ("G.k.9.i.2.r.3 the investigator's attribution",
     f"{ASSESSMENTS}/hl7:causalityAssessment[hl7:code/@code='39']/hl7:value/text()",
     ["possible"]),
    ("C.1.11.1 no nullification in an initial report",
     f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='3']", []),
]  # fmt: skip


@pytest.mark.parametrize(("element", "path", "expected"), SOURCES, ids=[s[0] for s in SOURCES])
def test_each_element_comes_from_its_source(element: str, path: str, expected: list[str]) -> None:
    assert at(build(FACTS, PARTIES), path) == expected, element


def test_the_causality_points_at_the_reaction_and_the_product_it_judges() -> None:
    document = build(FACTS, PARTIES)
    causality = f"{ASSESSMENTS}/hl7:causalityAssessment[hl7:code/@code='39']"
    assert at(document, f"{causality}/hl7:subject1/hl7:adverseEffectReference/hl7:id/@root") == (
        at(document, f"{REACTION}/hl7:id/@root")
    )
    assert at(document, f"{causality}/hl7:subject2/hl7:productUseReference/hl7:id/@root") == (
        at(document, f"{DRUG}/hl7:id/@root")
    )


def test_the_narrative_tells_what_e2b_has_no_element_for() -> None:
    [narrative] = at(build(FACTS, PARTIES), f"{CASE}/hl7:text/text()")
    assert "grade 3" in narrative
    assert "unexpected" in narrative
    assert "drug interrupted" in narrative


def test_the_same_facts_give_the_same_bytes_also_after_storage() -> None:
    first = build(FACTS, PARTIES)
    assert build(FACTS, PARTIES) == first
    assert build(IcsrFacts.from_json(FACTS.to_json()), PARTIES) == first
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_a_follow_up_keeps_the_case_id_and_has_a_new_message_id() -> None:
    follow_up = dataclasses.replace(
        FACTS,
        kind="follow_up",
        message_number=2,
        ae_version=2,
        created_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
        reason="intubated",
    )
    document = build(follow_up, PARTIES)
    assert at(document, f"{CASE}/hl7:id/@extension") == [FACTS.safety_report_id] * 2
    assert at(document, "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:id/@extension") == [
        f"{FACTS.safety_report_id}-2"
    ]
    assert at(document, f"{CASE}/hl7:availabilityTime/@value") == ["20260303080000.0000+0000"]


def test_a_nullification_says_so_with_its_reason() -> None:
    nullification = dataclasses.replace(
        FACTS, kind="nullification", seriousness=(), reason="no longer serious: entered in error"
    )
    document = build(nullification, PARTIES)
    characteristic = f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic"
    assert at(document, f"{characteristic}[hl7:code/@code='3']/hl7:value/@code") == ["1"]
    assert at(
        document, f"{characteristic}[hl7:code/@code='4']/hl7:value/hl7:originalText/text()"
    ) == ["no longer serious: entered in error"]


@pytest.mark.parametrize(
    ("attribution", "expected", "flag"),
    [
        ("possible", False, ("value", "true")),
        ("definite", None, ("nullFlavor", "NI")),
        ("probable", True, ("value", "false")),
        ("unlikely", False, ("value", "false")),
        ("unrelated", None, ("value", "false")),
    ],
)
def test_c17_expedited_is_a_suspected_unexpected_serious_reaction(
    attribution: str, expected: bool | None, flag: tuple[str, str]
) -> None:
    facts = dataclasses.replace(FACTS, attribution=attribution, expected=expected)
    path = f"{CASE}/hl7:component/hl7:observationEvent[hl7:code/@code='23']/hl7:value/@{flag[0]}"
    assert at(build(facts, PARTIES), path) == [flag[1]]


def test_docs_e2b_maps_every_element_the_builder_is_tested_for() -> None:
    table = (Path(__file__).resolve().parents[4] / "docs" / "e2b.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "." in line]
    documented = " ".join(row.split(" | ")[0] for row in rows)
    missing = [
        element.split(" ")[0]
        for element, _path, _expected in SOURCES
        if element.split(" ")[0] not in documented
    ]
    assert missing == []


def test_two_versions_within_one_second_have_ordered_creation_dates() -> None:
    later = dataclasses.replace(
        FACTS, kind="follow_up", created_at=FACTS.created_at.replace(microsecond=250_000)
    )
    path = (
        "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:effectiveTime/@value"
    )
    assert at(build(FACTS, PARTIES), path) == ["20260302093015.0000+0000"]
    assert at(build(later, PARTIES), path) == ["20260302093015.2500+0000"]


def test_a_character_xml_cannot_carry_is_replaced_not_fatal() -> None:
    facts = dataclasses.replace(FACTS, verbatim="dyspnoea \ufffe at rest")
    document = build(facts, PARTIES)
    assert at(document, f"{REACTION}/hl7:value/hl7:originalText/text()") == [
        "dyspnoea \ufffd at rest"
    ]
    assert ich_schema().validate(etree.fromstring(document))
