"""The ICH E2B(R3) individual case safety report of a serious adverse event, as HL7 v3 XML.

A pure function of its inputs: `build(facts, parties)` gives the same bytes for the same facts
(no clock, no random ids: every time comes from the data, every id from the AE's id). The
message is an ICH batch (MCCI_IN200100UV01) wrapping one ICSR (PORR_IN049016UV), laid out as the
ICH E2B(R3) Implementation Guide's schemas and the FDA's published example instances lay it out.
Element numbers in the comments are the IG's (C.1.1, E.i.2.1b, G.k.9.i.2.r.3, ...).

Only the subject's study identifiers leave the service: the patient's name is masked
(D.1 nullFlavor MSK, as ICH allows for privacy) and the only patient identifier sent is the
study subject id, as the IG's D.1.1.4 "investigation number"; never a medical record number.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

from lxml import etree

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {None: HL7, "xsi": XSI}

# ICH E2B(R3) object identifiers (IG, Appendix I "ICH OIDs" and the code lists).
OID_BATCH_ID = "2.16.840.1.113883.3.989.2.1.3.22"  # N.1.2
OID_BATCH_SENDER = "2.16.840.1.113883.3.989.2.1.3.13"  # N.1.3
OID_BATCH_RECEIVER = "2.16.840.1.113883.3.989.2.1.3.14"  # N.1.4
OID_MESSAGE_ID = "2.16.840.1.113883.3.989.2.1.3.1"  # N.2.r.1 and C.1.1
OID_MESSAGE_SENDER = "2.16.840.1.113883.3.989.2.1.3.11"  # N.2.r.2
OID_MESSAGE_RECEIVER = "2.16.840.1.113883.3.989.2.1.3.12"  # N.2.r.3
OID_WORLDWIDE_CASE_ID = "2.16.840.1.113883.3.989.2.1.3.2"  # C.1.8.1
OID_SPONSOR_STUDY_NUMBER = "2.16.840.1.113883.3.989.2.1.3.5"  # C.5.3
OID_INVESTIGATION_NUMBER = "2.16.840.1.113883.3.989.2.1.3.10"  # D.1.1.4
OID_HL7_INTERACTION = "2.16.840.1.113883.1.6"
OID_HL7_TRIGGER_EVENT = "2.16.840.1.113883.1.18"
OID_ACT_CODE = "2.16.840.1.113883.5.4"
OID_MEDDRA = "2.16.840.1.113883.6.163"
OID_COUNTRY = "1.0.3166.1.2.2"
CL_BATCH_TYPE = "2.16.840.1.113883.3.989.2.1.1.1"  # N.1.1
CL_REPORT_TYPE = "2.16.840.1.113883.3.989.2.1.1.2"  # C.1.3
CL_FIRST_SENDER = "2.16.840.1.113883.3.989.2.1.1.3"  # C.1.8.2
CL_PATIENT_ID_SOURCE = "2.16.840.1.113883.3.989.2.1.1.4"  # D.1.1.x
CL_NULLIFICATION = "2.16.840.1.113883.3.989.2.1.1.5"  # C.1.11.1
CL_QUALIFICATION = "2.16.840.1.113883.3.989.2.1.1.6"  # C.2.r.4
CL_SENDER_TYPE = "2.16.840.1.113883.3.989.2.1.1.7"  # C.3.1
CL_STUDY_TYPE = "2.16.840.1.113883.3.989.2.1.1.8"  # C.5.4
CL_OUTCOME = "2.16.840.1.113883.3.989.2.1.1.11"  # E.i.7
CL_DRUG_ROLE = "2.16.840.1.113883.3.989.2.1.1.13"  # G.k.1
CL_ACTION_TAKEN = "2.16.840.1.113883.3.989.2.1.1.15"  # G.k.8
CL_OBSERVATION = "2.16.840.1.113883.3.989.2.1.1.19"
CL_ORGANIZER = "2.16.840.1.113883.3.989.2.1.1.20"
CL_INVESTIGATION_RELATION = "2.16.840.1.113883.3.989.2.1.1.22"
CL_CHARACTERISTIC = "2.16.840.1.113883.3.989.2.1.1.23"

# CTCAE terms are MedDRA lowest level terms of the MedDRA version the CTCAE release was built
# on (CTCAE v5.0, 27 Nov 2017: "MedDRA version 20.1"; CTCAE v4.03, 14 Jun 2010: MedDRA 12.0).
MEDDRA_VERSION_OF_CTCAE = {"4.0": "12.0", "4.03": "12.0", "5.0": "20.1"}

# E.i.3.2a-f: each ICH seriousness criterion, by safety's name for it.
SERIOUSNESS = (
    ("death", "34", "resultsInDeath"),
    ("life_threatening", "21", "isLifeThreatening"),
    ("hospitalisation", "33", "requiresInpatientHospitalization"),
    ("disability", "35", "resultsInPersistentOrSignificantDisability"),
    ("congenital_anomaly", "12", "congenitalAnomalyBirthDefect"),
    ("important_medical_event", "26", "otherMedicallyImportantCondition"),
)
# E.i.7: ICH outcome codes for safety's (SDTM AEOUT) outcomes.
OUTCOME = {
    "recovered_resolved": ("1", "recovered/resolved"),
    "recovering_resolving": ("2", "recovering/resolving"),
    "not_recovered_not_resolved": ("3", "not recovered/not resolved/ongoing"),
    "recovered_resolved_with_sequelae": ("4", "recovered/resolved with sequelae"),
    "fatal": ("5", "fatal"),
    "unknown": ("0", "unknown"),
}
# G.k.8: ICH has no "interrupted": an interruption is the drug withdrawn (for now); the
# narrative says which.
ACTION_TAKEN = {
    "drug_withdrawn": ("1", "Drug withdrawn"),
    "drug_interrupted": ("1", "Drug withdrawn"),
    "dose_reduced": ("2", "Dose reduced"),
    "dose_not_changed": ("4", "Dose not changed"),
    "unknown": ("0", "Unknown"),
    "not_applicable": ("9", "Not applicable"),
}
RELATED = frozenset({"possible", "probable", "definite"})
# Characters XML 1.0 cannot carry (safety refuses control characters at its doors, but text may
# hold a noncharacter such as U+FFFE): sent as U+FFFD rather than failing the whole message.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Kind = Literal["initial", "follow_up", "nullification"]


@dataclass(frozen=True)
class IcsrParties:
    """Who sends and who receives, and what the site's configuration says of the product."""

    sender_id: str
    receiver_id: str
    country: str  # ISO 3166-1 alpha-2 of the site: reporter, sender, where the event occurred
    product_name: str
    route: str


@dataclass(frozen=True)
class IcsrFacts:
    """Everything one message says, taken from safety's data when the AE version was written."""

    safety_report_id: str
    message_number: int
    kind: Kind
    created_at: datetime  # C.1.2: when this version of the case was recorded
    first_received_at: datetime  # C.1.4: when the site became aware of the serious event
    trial_id: str
    protocol_id: str | None
    protocol_version: str | None
    site_name: str | None
    subject_id: str
    dose_level: int | None
    cohort_number: int | None
    first_infusion_on: date | None
    last_infusion_on: date | None
    infusions_given: int
    ae_id: uuid.UUID
    ae_version: int
    ctcae_version: str
    term_code: str
    term: str
    verbatim: str
    specification: str | None
    onset_date: date
    resolution_date: date | None
    grade: int
    seriousness: tuple[str, ...]
    attribution: str
    expected: bool | None
    action_taken: str
    outcome: str
    reason: str | None  # the reason for change of a follow-up, the reason of a nullification

    def to_json(self) -> dict[str, Any]:
        """A JSON object that `from_json` reads back to equal facts (what is stored)."""
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime | date):
                out[field.name] = value.isoformat()
            elif isinstance(value, uuid.UUID):
                out[field.name] = str(value)
            elif isinstance(value, tuple):
                out[field.name] = list(value)
            else:
                out[field.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IcsrFacts:
        def day(name: str) -> date | None:
            value = data[name]
            return None if value is None else date.fromisoformat(value)

        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "first_received_at": datetime.fromisoformat(data["first_received_at"]),
                "first_infusion_on": day("first_infusion_on"),
                "last_infusion_on": day("last_infusion_on"),
                "ae_id": uuid.UUID(data["ae_id"]),
                "onset_date": date.fromisoformat(data["onset_date"]),
                "resolution_date": day("resolution_date"),
                "seriousness": tuple(data["seriousness"]),
            }
        )

    @property
    def message_id(self) -> str:
        """N.2.r.1: one per transmission, the case id and the message's number."""
        return f"{self.safety_report_id}-{self.message_number}"

    @property
    def meddra_version(self) -> str | None:
        return MEDDRA_VERSION_OF_CTCAE.get(self.ctcae_version)

    @property
    def expedited(self) -> bool | None:
        """C.1.7: a suspected unexpected serious adverse reaction (None: expectedness unknown)."""
        if self.attribution not in RELATED or self.expected is True:
            return False
        return None if self.expected is None else True


def timestamp(moment: datetime) -> str:
    """An HL7 TS in UTC with its offset (the IG asks for it), to the ten-thousandth of a second:
    two versions of a case written within one second still have distinct, ordered C.1.2."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y%m%d%H%M%S}.{utc.microsecond // 100:04d}+0000"


def day_stamp(day: date) -> str:
    return day.strftime("%Y%m%d")


def _stable_id(facts: IcsrFacts, part: str) -> str:
    """A UUID for an element of the case that other elements point at, the same every time."""
    return str(uuid.uuid5(facts.ae_id, part))


class _Writer:
    """lxml element helpers in the HL7 namespace."""

    @staticmethod
    def el(parent: etree._Element, tag: str, /, **attrs: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{HL7}}}{tag}", attrib=attrs)

    @staticmethod
    def typed(parent: etree._Element, tag: str, xsi_type: str, /, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{HL7}}}{tag}", attrib=attrs)
        element.set(f"{{{XSI}}}type", xsi_type)
        return element

    @staticmethod
    def text(parent: etree._Element, tag: str, value: str, /, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{HL7}}}{tag}", attrib=attrs)
        element.text = NOT_XML.sub("\ufffd", value)
        return element


el, typed, text = _Writer.el, _Writer.typed, _Writer.text


def build(facts: IcsrFacts, parties: IcsrParties) -> bytes:
    """The whole E2B(R3) batch for one case version, serialised (UTF-8, with declaration)."""
    batch = etree.Element(f"{{{HL7}}}MCCI_IN200100UV01", nsmap=_NSMAP)  # type: ignore[arg-type]  # None: the default namespace
    batch.set("ITSVersion", "XML_1.0")
    sent = timestamp(facts.created_at)
    el(batch, "id", extension=f"B-{facts.message_id}", root=OID_BATCH_ID)  # N.1.2
    el(batch, "creationTime", value=sent)  # N.1.5
    el(batch, "responseModeCode", code="D")
    el(batch, "interactionId", extension="MCCI_IN200100UV01", root=OID_HL7_INTERACTION)
    el(batch, "name", code="1", displayName="ichicsr", codeSystem=CL_BATCH_TYPE)  # N.1.1
    _message(el(batch, "PORR_IN049016UV"), facts, parties, sent)
    receiver = el(el(batch, "receiver", typeCode="RCV"), "device", classCode="DEV")
    receiver.set("determinerCode", "INSTANCE")
    el(receiver, "id", extension=parties.receiver_id, root=OID_BATCH_RECEIVER)  # N.1.4
    sender = el(el(batch, "sender", typeCode="SND"), "device", classCode="DEV")
    sender.set("determinerCode", "INSTANCE")
    el(sender, "id", extension=parties.sender_id, root=OID_BATCH_SENDER)  # N.1.3
    return etree.tostring(batch, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _message(message: etree._Element, facts: IcsrFacts, parties: IcsrParties, sent: str) -> None:
    el(message, "id", extension=facts.message_id, root=OID_MESSAGE_ID)  # N.2.r.1
    el(message, "creationTime", value=sent)  # N.2.r.4
    el(message, "interactionId", extension="PORR_IN049016UV", root=OID_HL7_INTERACTION)
    el(message, "processingCode", code="P")
    el(message, "processingModeCode", code="T")
    el(message, "acceptAckCode", code="AL")
    device = el(el(message, "receiver", typeCode="RCV"), "device", classCode="DEV")
    device.set("determinerCode", "INSTANCE")
    el(device, "id", extension=parties.receiver_id, root=OID_MESSAGE_RECEIVER)  # N.2.r.3
    device = el(el(message, "sender", typeCode="SND"), "device", classCode="DEV")
    device.set("determinerCode", "INSTANCE")
    el(device, "id", extension=parties.sender_id, root=OID_MESSAGE_SENDER)  # N.2.r.2
    act = el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    el(act, "code", code="PORR_TE049016UV", codeSystem=OID_HL7_TRIGGER_EVENT)
    el(act, "effectiveTime", value=sent)
    case = el(el(act, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG")
    case.set("moodCode", "EVN")
    _case(case, facts, parties)


def _case(case: etree._Element, facts: IcsrFacts, parties: IcsrParties) -> None:
    el(case, "id", extension=facts.safety_report_id, root=OID_MESSAGE_ID)  # C.1.1
    el(case, "id", extension=facts.safety_report_id, root=OID_WORLDWIDE_CASE_ID)  # C.1.8.1
    el(case, "code", code="PAT_ADV_EVNT", codeSystem=OID_ACT_CODE)
    text(case, "text", narrative(facts))  # H.1
    el(case, "statusCode", code="active")
    el(el(case, "effectiveTime"), "low", value=timestamp(facts.first_received_at))  # C.1.4
    el(case, "availabilityTime", value=timestamp(facts.created_at))  # C.1.5
    assessment = el(el(case, "component", typeCode="COMP"), "adverseEventAssessment")
    assessment.set("classCode", "INVSTG")
    assessment.set("moodCode", "EVN")
    _assessment(assessment, facts, parties)
    _case_observation(case, "1", "additionalDocumentsAvailable", False)  # C.1.6.1
    _case_observation(case, "23", "localCriteriaForExpedited", facts.expedited)  # C.1.7
    first = el(case, "outboundRelationship", typeCode="SPRT")
    first = el(first, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    el(first, "code", code="1", codeSystem=CL_INVESTIGATION_RELATION, displayName="initialReport")
    author = el(el(first, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT")
    author.set("moodCode", "EVN")
    entity = el(el(author, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    el(entity, "code", code="2", codeSystem=CL_FIRST_SENDER, displayName="other")  # C.1.8.2
    _primary_source(case, parties)
    _sender(case, facts, parties)
    _characteristic(case, "1", "ICH ReportType", "2", CL_REPORT_TYPE, "Report from study")
    other = el(el(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic")
    other.set("classCode", "OBS")
    other.set("moodCode", "EVN")
    el(other, "code", code="2", codeSystem=CL_CHARACTERISTIC, displayName="otherCaseIds")
    typed(other, "value", "BL", value="false")  # C.1.9.1
    if facts.kind == "nullification":
        _characteristic(
            case, "3", "nullificationAmendmentCode", "1", CL_NULLIFICATION, "Nullification"
        )  # C.1.11.1
        reason = el(el(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic")
        reason.set("classCode", "OBS")
        reason.set("moodCode", "EVN")
        el(
            reason,
            "code",
            code="4",
            codeSystem=CL_CHARACTERISTIC,
            displayName="nullificationAmendmentReason",
        )
        text(typed(reason, "value", "CE"), "originalText", facts.reason or "")  # C.1.11.2


def _case_observation(case: etree._Element, code: str, name: str, value: bool | None) -> None:
    observation = el(el(case, "component", typeCode="COMP"), "observationEvent", classCode="OBS")
    observation.set("moodCode", "EVN")
    el(observation, "code", code=code, codeSystem=CL_OBSERVATION, displayName=name)
    _boolean(observation, value)


def _boolean(parent: etree._Element, value: bool | None) -> None:
    if value is None:
        typed(parent, "value", "BL", nullFlavor="NI")
    else:
        typed(parent, "value", "BL", value="true" if value else "false")


def _characteristic(
    case: etree._Element, code: str, name: str, value: str, system: str, display: str
) -> None:
    item = el(el(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic")
    item.set("classCode", "OBS")
    item.set("moodCode", "EVN")
    el(item, "code", code=code, codeSystem=CL_CHARACTERISTIC, displayName=name)
    typed(item, "value", "CE", code=value, codeSystem=system, displayName=display)


def _primary_source(case: etree._Element, parties: IcsrParties) -> None:
    """C.2.r: the site's investigator, by qualification and country only (no name)."""
    source = el(case, "outboundRelationship", typeCode="SPRT")
    el(source, "priorityNumber", value="1")  # C.2.r.5: primary source for regulatory purposes
    related = el(source, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    el(related, "code", code="2", codeSystem=CL_INVESTIGATION_RELATION, displayName="sourceReport")
    event = el(el(related, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT")
    event.set("moodCode", "EVN")
    entity = el(el(event, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    person = el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    qualified = el(person, "asQualifiedEntity", classCode="QUAL")
    el(qualified, "code", code="1", codeSystem=CL_QUALIFICATION, displayName="Physician")
    located = el(person, "asLocatedEntity", classCode="LOCE")
    place = el(located, "location", classCode="COUNTRY", determinerCode="INSTANCE")
    el(place, "code", code=parties.country, codeSystem=OID_COUNTRY)  # C.2.r.3


def _sender(case: etree._Element, facts: IcsrFacts, parties: IcsrParties) -> None:
    """C.3: the investigator site (a health professional's organisation) sends the case."""
    event = el(el(case, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT")
    event.set("moodCode", "EVN")
    entity = el(el(event, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    el(entity, "code", code="3", codeSystem=CL_SENDER_TYPE, displayName="Health professional")
    person = el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    located = el(person, "asLocatedEntity", classCode="LOCE")
    place = el(located, "location", classCode="COUNTRY", determinerCode="INSTANCE")
    el(place, "code", code=parties.country, codeSystem=OID_COUNTRY)  # C.3.4.5
    department = el(entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    inner = el(department, "assignedEntity", classCode="ASSIGNED")
    organisation = el(inner, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    text(organisation, "name", facts.site_name or parties.sender_id)  # C.3.2


def _assessment(assessment: etree._Element, facts: IcsrFacts, parties: IcsrParties) -> None:
    role = el(el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    patient = el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    el(patient, "name", nullFlavor="MSK")  # D.1: masked for privacy
    el(patient, "administrativeGenderCode", nullFlavor="UNK")  # D.5: safety does not hold it
    identified = el(patient, "asIdentifiedEntity", classCode="IDENT")
    el(identified, "id", extension=facts.subject_id, root=OID_INVESTIGATION_NUMBER)  # D.1.1.4
    el(identified, "code", code="4", codeSystem=CL_PATIENT_ID_SOURCE, displayName="Investigation")
    _study(role, facts)
    reaction_id = _stable_id(facts, "reaction")
    product_id = _stable_id(facts, "investigational-product")
    _reaction(role, facts, parties, reaction_id)
    _drug(role, facts, parties, product_id)
    role_of_drug = el(el(assessment, "component", typeCode="COMP"), "causalityAssessment")
    role_of_drug.set("classCode", "OBS")
    role_of_drug.set("moodCode", "EVN")
    el(
        role_of_drug,
        "code",
        code="20",
        codeSystem=CL_OBSERVATION,
        displayName="interventionCharacterization",
    )
    typed(role_of_drug, "value", "CE", code="1", codeSystem=CL_DRUG_ROLE, displayName="Suspect")
    reference = el(el(role_of_drug, "subject2", typeCode="SUBJ"), "productUseReference")
    reference.set("classCode", "SBADM")
    reference.set("moodCode", "EVN")
    el(reference, "id", root=product_id)  # G.k.1
    _causality(assessment, facts, reaction_id, product_id)


def _study(role: etree._Element, facts: IcsrFacts) -> None:
    """C.5: the trial (sponsor study number) and its protocol (study name)."""
    study = el(el(role, "subjectOf1", typeCode="SBJ"), "researchStudy", classCode="CLNTRL")
    study.set("moodCode", "EVN")
    el(study, "id", extension=facts.trial_id, root=OID_SPONSOR_STUDY_NUMBER)  # C.5.3
    el(study, "code", code="1", codeSystem=CL_STUDY_TYPE, displayName="Clinical trials")  # C.5.4
    text(study, "title", study_name(facts))  # C.5.2


def study_name(facts: IcsrFacts) -> str:
    if facts.protocol_id is None:
        return facts.trial_id
    return f"{facts.trial_id} (protocol {facts.protocol_id} version {facts.protocol_version})"


def _reaction(
    role: etree._Element, facts: IcsrFacts, parties: IcsrParties, reaction_id: str
) -> None:
    """E.i: the event as a MedDRA LLT (the CTCAE term's code), its seriousness and outcome."""
    reaction = el(el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS")
    reaction.set("moodCode", "EVN")
    el(reaction, "id", root=reaction_id)
    el(reaction, "code", code="29", codeSystem=CL_OBSERVATION, displayName="reaction")
    period = typed(reaction, "effectiveTime", "IVL_TS")
    el(period, "low", value=day_stamp(facts.onset_date))  # E.i.4
    if facts.resolution_date is not None:
        el(period, "high", value=day_stamp(facts.resolution_date))  # E.i.5
    coded = typed(reaction, "value", "CE", code=facts.term_code, codeSystem=OID_MEDDRA)  # E.i.2.1b
    if facts.meddra_version is not None:
        coded.set("codeSystemVersion", facts.meddra_version)  # E.i.2.1a
    text(coded, "originalText", reported_term(facts))  # E.i.1.1a
    located = el(el(reaction, "location", typeCode="LOC"), "locatedEntity", classCode="LOCE")
    place = el(located, "locatedPlace", classCode="COUNTRY", determinerCode="INSTANCE")
    el(place, "code", code=parties.country, codeSystem=OID_COUNTRY)  # E.i.9
    for criterion, code, name in SERIOUSNESS:  # E.i.3.2a-f: true, or "no information"
        observation = el(el(reaction, "outboundRelationship2", typeCode="PERT"), "observation")
        observation.set("classCode", "OBS")
        observation.set("moodCode", "EVN")
        el(observation, "code", code=code, codeSystem=CL_OBSERVATION, displayName=name)
        _boolean(observation, True if criterion in facts.seriousness else None)
    outcome_code, outcome_name = OUTCOME[facts.outcome]
    observation = el(el(reaction, "outboundRelationship2", typeCode="PERT"), "observation")
    observation.set("classCode", "OBS")
    observation.set("moodCode", "EVN")
    el(observation, "code", code="27", codeSystem=CL_OBSERVATION, displayName="outcome")
    typed(
        observation,
        "value",
        "CE",
        code=outcome_code,
        codeSystem=CL_OUTCOME,
        displayName=outcome_name,
    )  # E.i.7


def reported_term(facts: IcsrFacts) -> str:
    """E.i.1.1a: the site's words (with the 'Other, specify' name when there is one)."""
    if facts.specification is None:
        return facts.verbatim
    return f"{facts.specification}: {facts.verbatim}"


def _drug(role: etree._Element, facts: IcsrFacts, parties: IcsrParties, product_id: str) -> None:
    """G.k: the investigational product, the dose level and infusions given, action taken."""
    organizer = el(el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY")
    organizer.set("moodCode", "EVN")
    el(organizer, "code", code="4", codeSystem=CL_ORGANIZER, displayName="drugInformation")
    use = el(el(organizer, "component", typeCode="COMP"), "substanceAdministration")
    use.set("classCode", "SBADM")
    use.set("moodCode", "EVN")
    el(use, "id", root=product_id)
    product = el(el(use, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST")
    kind = el(product, "kindOfProduct", classCode="MMAT", determinerCode="KIND")
    text(kind, "name", parties.product_name)  # G.k.2.2
    dosage = el(el(use, "outboundRelationship2", typeCode="COMP"), "substanceAdministration")
    dosage.set("classCode", "SBADM")
    dosage.set("moodCode", "EVN")
    text(dosage, "text", dosage_text(facts))  # G.k.4.r.8
    if facts.first_infusion_on is not None:
        period = typed(dosage, "effectiveTime", "IVL_TS")
        el(period, "low", value=day_stamp(facts.first_infusion_on))  # G.k.4.r.4
        if facts.last_infusion_on is not None:
            el(period, "high", value=day_stamp(facts.last_infusion_on))  # G.k.4.r.5
    route = el(dosage, "routeCode")
    text(route, "originalText", parties.route)  # G.k.4.r.10.1
    action_code, action_name = ACTION_TAKEN[facts.action_taken]
    action = el(el(use, "inboundRelationship", typeCode="CAUS"), "act", classCode="ACT")
    action.set("moodCode", "EVN")
    el(action, "code", code=action_code, codeSystem=CL_ACTION_TAKEN, displayName=action_name)


def dosage_text(facts: IcsrFacts) -> str:
    level = (
        "dose level not yet known" if facts.dose_level is None else f"dose level {facts.dose_level}"
    )
    cohort = "" if facts.cohort_number is None else f", cohort {facts.cohort_number}"
    return f"{level}{cohort}; infusions given before this report: {facts.infusions_given}"


def _causality(
    assessment: etree._Element, facts: IcsrFacts, reaction_id: str, product_id: str
) -> None:
    """G.k.9.i.2.r: the investigator's attribution of the event to the product."""
    causality = el(el(assessment, "component", typeCode="COMP"), "causalityAssessment")
    causality.set("classCode", "OBS")
    causality.set("moodCode", "EVN")
    el(causality, "code", code="39", codeSystem=CL_OBSERVATION, displayName="causality")
    typed(causality, "value", "ST").text = facts.attribution  # G.k.9.i.2.r.3
    method = el(causality, "methodCode")
    text(method, "originalText", "Investigator attribution (unrelated to definite)")  # r.2
    entity = el(el(causality, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    text(el(entity, "code"), "originalText", "Investigator")  # G.k.9.i.2.r.1
    reaction = el(el(causality, "subject1", typeCode="SUBJ"), "adverseEffectReference")
    reaction.set("classCode", "OBS")
    reaction.set("moodCode", "EVN")
    el(reaction, "id", root=reaction_id)
    product = el(el(causality, "subject2", typeCode="SUBJ"), "productUseReference")
    product.set("classCode", "SBADM")
    product.set("moodCode", "EVN")
    el(product, "id", root=product_id)


def narrative(facts: IcsrFacts) -> str:
    """H.1: the case in sentences, every fact from the data (grade and expectedness included,
    which E2B has no element for)."""
    criteria = (
        ", ".join(c.replace("_", " ") for c in facts.seriousness) or "none (no longer serious)"
    )
    expected = {True: "expected", False: "unexpected", None: "expectedness not assessed"}
    lines = [
        f"Study subject {facts.subject_id} of trial {study_name(facts)}, {dosage_text(facts)}.",
        f"Adverse event {facts.ae_id} version {facts.ae_version}: CTCAE v{facts.ctcae_version} "
        f"term '{facts.term}' (MedDRA {facts.term_code}), grade {facts.grade}, "
        f"onset {facts.onset_date.isoformat()}"
        + (
            f", resolved {facts.resolution_date.isoformat()}"
            if facts.resolution_date is not None
            else ""
        )
        + ".",
        f"Reported as: {reported_term(facts)}.",
        f"Seriousness: {criteria or 'none (no longer serious)'}. "
        f"Outcome: {facts.outcome.replace('_', ' ')}. "
        f"Action taken with the product: {facts.action_taken.replace('_', ' ')}.",
        f"Investigator attribution: {facts.attribution}; {expected[facts.expected]}.",
    ]
    if facts.kind == "follow_up" and facts.reason:
        lines.append(f"Follow-up: {facts.reason}")
    if facts.kind == "nullification" and facts.reason:
        lines.append(f"Nullified: {facts.reason}")
    return "\n".join(lines)
