"""Checking ICH E2B(R3) messages: the ICH schemas (tests/data/real/e2b, provenance in
SOURCES.md there), the business rules of the IG that a schema cannot say, and a reading by an
E2B(R3) implementation that is not Doseline's.

No maintained E2B(R3) validator package exists on PyPI: the one package there, `e2br3` 0.1.0
(alpha, a first release), validates with the same ICH XSDs and parses a message into typed
fields. The tests use its validator beside lxml's and its parser as an independent reader (what
another system reads from the message is what safety meant), and check the IG's conformance of
the elements Doseline sends (required elements present, values from the ICH code lists,
nullification rules) themselves.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import e2br3
from lxml import etree

E2B = Path(__file__).resolve().parents[4] / "tests" / "data" / "real" / "e2b"
ROOT_SCHEMA = E2B / "ich-schemas" / "multicacheschemas" / "MCCI_IN200100UV01.xsd"
NS = {"hl7": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
CASE = (
    "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:subject"
    "/hl7:investigationEvent"
)
PATIENT = f"{CASE}/hl7:component/hl7:adverseEventAssessment/hl7:subject1/hl7:primaryRole"
REACTION = f"{PATIENT}/hl7:subjectOf2/hl7:observation[hl7:code/@code='29']"
DRUG = (
    f"{PATIENT}/hl7:subjectOf2/hl7:organizer[hl7:code/@code='4']/hl7:component/"
    "hl7:substanceAdministration"
)
CAUSALITY = (
    f"{CASE}/hl7:component/hl7:adverseEventAssessment/hl7:component/"
    "hl7:causalityAssessment[hl7:code/@code='39']"
)

# The IG's required ("R") elements among those Doseline sends, as XPath, by element number.
REQUIRED = {
    "N.1.1 type of messages in batch": "/hl7:MCCI_IN200100UV01/hl7:name/@code",
    "N.1.2 batch number": "/hl7:MCCI_IN200100UV01/hl7:id/@extension",
    "N.1.3 batch sender": "/hl7:MCCI_IN200100UV01/hl7:sender/hl7:device/hl7:id/@extension",
    "N.1.4 batch receiver": "/hl7:MCCI_IN200100UV01/hl7:receiver/hl7:device/hl7:id/@extension",
    "N.1.5 batch date": "/hl7:MCCI_IN200100UV01/hl7:creationTime/@value",
    "N.2.r.1 message id": "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:id/@extension",
    "N.2.r.2 message sender": (
        "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:sender/hl7:device/hl7:id/@extension"
    ),
    "N.2.r.3 message receiver": (
        "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:receiver/hl7:device/hl7:id/@extension"
    ),
    "N.2.r.4 message date": "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:creationTime/@value",
    "C.1.1 safety report id": f"{CASE}/hl7:id[@root='2.16.840.1.113883.3.989.2.1.3.1']/@extension",
    "C.1.2 date of creation": (
        "/hl7:MCCI_IN200100UV01/hl7:PORR_IN049016UV/hl7:controlActProcess/hl7:effectiveTime/@value"
    ),
    "C.1.3 type of report": (
        f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='1']/hl7:value/@code"
    ),
    "C.1.4 first received": f"{CASE}/hl7:effectiveTime/hl7:low/@value",
    "C.1.5 most recent information": f"{CASE}/hl7:availabilityTime/@value",
    "C.1.6.1 additional documents": (
        f"{CASE}/hl7:component/hl7:observationEvent[hl7:code/@code='1']/hl7:value/@value"
    ),
    "C.1.7 expedited (value or null flavour)": (
        f"{CASE}/hl7:component/hl7:observationEvent[hl7:code/@code='23']/hl7:value/@*"
    ),
    "C.1.8.1 worldwide case id": (
        f"{CASE}/hl7:id[@root='2.16.840.1.113883.3.989.2.1.3.2']/@extension"
    ),
    "C.1.8.2 first sender": (
        f"{CASE}/hl7:outboundRelationship/hl7:relatedInvestigation[hl7:code/@code='1']"
        "/hl7:subjectOf2/hl7:controlActEvent/hl7:author/hl7:assignedEntity/hl7:code/@code"
    ),
    "C.1.9.1 other case ids": (
        f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='2']/hl7:value/@value"
    ),
    "C.2.r.4 primary source qualification": (
        f"{CASE}/hl7:outboundRelationship[hl7:priorityNumber/@value='1']/hl7:relatedInvestigation"
        "/hl7:subjectOf2/hl7:controlActEvent/hl7:author/hl7:assignedEntity/hl7:assignedPerson"
        "/hl7:asQualifiedEntity/hl7:code/@code"
    ),
    "C.3.1 sender type": (
        f"{CASE}/hl7:subjectOf1/hl7:controlActEvent/hl7:author/hl7:assignedEntity/hl7:code/@code"
    ),
    "C.3.2 sender organisation": (
        f"{CASE}/hl7:subjectOf1/hl7:controlActEvent/hl7:author/hl7:assignedEntity"
        "/hl7:representedOrganization/hl7:assignedEntity/hl7:representedOrganization/hl7:name"
        "/text()"
    ),
    "C.5.3 sponsor study number": f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:id/@extension",
    "C.5.4 study type": f"{PATIENT}/hl7:subjectOf1/hl7:researchStudy/hl7:code/@code",
    "D.1 patient (name or null flavour)": f"{PATIENT}/hl7:player1/hl7:name/@nullFlavor",
    "E.i.1.1a reaction as reported": f"{REACTION}/hl7:value/hl7:originalText/text()",
    "E.i.2.1a MedDRA version": f"{REACTION}/hl7:value/@codeSystemVersion",
    "E.i.2.1b MedDRA code": f"{REACTION}/hl7:value/@code",
    "E.i.7 outcome": (
        f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='27']/hl7:value/@code"
    ),
    "G.k.1 drug role": (
        f"{CASE}/hl7:component/hl7:adverseEventAssessment/hl7:component/hl7:causalityAssessment"
        "[hl7:code/@code='20']/hl7:value/@code"
    ),
    "G.k.2.2 product name": (
        f"{DRUG}/hl7:consumable/hl7:instanceOfKind/hl7:kindOfProduct/hl7:name/text()"
    ),
    "H.1 narrative": f"{CASE}/hl7:text/text()",
}
# E.i.3.2a-f: each criterion is "true" or null flavour NI, never "false" (IG business rule).
SERIOUSNESS_CODES = ("34", "21", "33", "35", "12", "26")


@cache
def ich_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ROOT_SCHEMA)))


def schema_errors(document: bytes) -> list[str]:
    """Every schema error lxml finds, and every one e2br3's validator finds (both: none)."""
    schema = ich_schema()
    errors = (
        [] if schema.validate(etree.fromstring(document)) else str(schema.error_log).splitlines()
    )
    errors += [
        f"e2br3: {error}" for error in e2br3.validate(document, schema_dir=ROOT_SCHEMA.parents[1])
    ]
    return errors


def read_back(document: bytes) -> dict[str, Any]:
    """The case as another E2B(R3) implementation reads it (one batch, one message), as JSON."""
    [message] = e2br3.parse(document).messages
    assert message.icsr is not None
    case: dict[str, Any] = message.icsr.model_dump(mode="json")
    return case


def values(document: bytes, path: str) -> list[str]:
    found = etree.fromstring(document).xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [str(item) for item in found]


def business_rule_errors(document: bytes) -> list[str]:
    """The IG's conformance rules Doseline's messages must meet (empty: all met)."""
    errors = [
        f"{name} is missing"
        for name, path in REQUIRED.items()
        if not [v for v in values(document, path) if v.strip()]
    ]
    report_ids = values(document, REQUIRED["C.1.1 safety report id"])
    if report_ids != values(document, REQUIRED["C.1.8.1 worldwide case id"]):
        errors.append("C.1.8.1 differs from C.1.1 (the sender is the first sender of the case)")
    received = values(document, REQUIRED["C.1.4 first received"])
    latest = values(document, REQUIRED["C.1.5 most recent information"])
    if received and latest and received[0][:14] > latest[0][:14]:
        errors.append(f"C.1.4 {received[0]} is after C.1.5 {latest[0]}")
    for code in SERIOUSNESS_CODES:
        path = (
            f"{REACTION}/hl7:outboundRelationship2/hl7:observation[hl7:code/@code='{code}']"
            "/hl7:value"
        )
        flags = (values(document, f"{path}/@value"), values(document, f"{path}/@nullFlavor"))
        if flags not in ((["true"], []), ([], ["NI"])):
            errors.append(f"seriousness criterion {code} is {flags}, not true or NI once")
    nullified = values(
        document,
        f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='3']"
        "/hl7:value/@code",
    )
    reason = values(
        document,
        f"{CASE}/hl7:subjectOf2/hl7:investigationCharacteristic[hl7:code/@code='4']"
        "/hl7:value/hl7:originalText/text()",
    )
    if nullified not in ([], ["1"], ["2"]):
        errors.append(f"C.1.11.1 is {nullified}")
    if nullified and not [r for r in reason if r.strip()]:
        errors.append("C.1.11.2 (reason) is required with C.1.11.1")
    if values(document, f"{PATIENT}/hl7:player1/hl7:asIdentifiedEntity/hl7:code/@code") != ["4"]:
        errors.append("the only patient identifier sent must be the investigation number D.1.1.4")
    if not values(document, f"{CAUSALITY}/hl7:value/text()"):
        errors.append("G.k.9.i.2.r.3 (result of the causality assessment) is missing")
    return errors
