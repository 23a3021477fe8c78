"""Events published by the safety service."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from doseline.contracts.registry import register
from doseline.events import SubjectEvent

Attribution = Literal["unrelated", "unlikely", "possible", "probable", "definite"]


class _AdverseEventFacts(SubjectEvent):
    trial_id: str
    subject_id: str
    ae_id: str
    ae_version: int = Field(ge=1)
    ctcae_version: str
    term_code: str = Field(description="MedDRA code of the CTCAE term")
    term: str
    grade: int = Field(ge=1, le=5)
    serious: bool
    attribution: Attribution
    onset_date: date


@register
class AdverseEventRecorded(_AdverseEventFacts):
    event_type: ClassVar[str] = "safety.ae.recorded"
    description: ClassVar[str] = "An adverse event was reported."


@register
class AdverseEventUpdated(_AdverseEventFacts):
    event_type: ClassVar[str] = "safety.ae.updated"
    description: ClassVar[str] = "A follow-up created a new version of an adverse event."

    reason_for_change: str


@register
class AdverseEventProposed(SubjectEvent):
    event_type: ClassVar[str] = "safety.ae.proposed"
    description: ClassVar[str] = (
        "A laboratory result received from an EHR was graded 1 or more in the subject's AE "
        "reporting period: an adverse event is proposed for an investigator to accept (which "
        "reports it) or reject. Nothing is reported yet; a result graded 0 proposes nothing "
        "and announces nothing."
    )

    trial_id: str
    subject_id: str
    proposal_id: str = Field(description="GET /v1/proposed-adverse-events/{proposal_id}")
    observation_id: str = Field(description="The FHIR Observation id the sending system gave")
    observation_version_id: str = Field(
        description="Its version (meta.versionId, else meta.lastUpdated, else a content hash)"
    )
    loinc: str = Field(description="LOINC code of the result")
    value: str = Field(description="The result as sent, a decimal number in `unit`")
    unit: str
    ctcae_version: str
    term_code: str = Field(description="MedDRA code of the CTCAE term")
    term: str
    grade: int = Field(ge=1, le=5, description="The CTCAE grade proposed")
    grading_reason: str
    onset_date: date = Field(description="The result's day at the subject's site")


class _DltFacts(SubjectEvent):
    trial_id: str
    subject_id: str
    dlt_id: str
    ae_id: str
    ae_version: int = Field(ge=1)
    term_code: str
    term: str
    grade: int = Field(ge=1, le=5)
    baseline_grade: int | None = Field(default=None, ge=0, le=5)
    attribution: Attribution
    study_day: int
    rules: list[str] = Field(
        description="Ids of the protocol's DLT criteria the event matched (e.g. DLT-04)"
    )
    protocol_version: str | None = Field(
        default=None, description="The protocol version whose DLT rules were applied"
    )
    protocol_hash: str | None = Field(
        default=None, description="Content hash of that protocol version"
    )
    adjudication_sequence: int = Field(
        ge=1,
        description=(
            "Increases with every suspicion or adjudication of this DLT; consumers apply the "
            "highest sequence they have seen, whatever the order of arrival"
        ),
    )


@register
class DltSuspected(_DltFacts):
    event_type: ClassVar[str] = "safety.dlt.suspected"
    description: ClassVar[str] = (
        "An adverse event matched the protocol's DLT rules; adjudication pending."
    )


@register
class DltConfirmed(_DltFacts):
    event_type: ClassVar[str] = "safety.dlt.confirmed"
    description: ClassVar[str] = "A safety physician confirmed a DLT with an electronic signature."

    adjudicated_at: AwareDatetime
    signature_hash: str


@register
class DltRuledOut(_DltFacts):
    event_type: ClassVar[str] = "safety.dlt.ruled_out"
    description: ClassVar[str] = (
        "A suspected DLT was ruled out with a signature, or an earlier confirmation was "
        "withdrawn because its adverse event changed."
    )

    adjudicated_at: AwareDatetime
    signature_hash: str | None


@register
class SaeReported(SubjectEvent):
    event_type: ClassVar[str] = "safety.sae.reported"
    description: ClassVar[str] = "A serious adverse event was reported; its 24-hour clock started."

    trial_id: str
    subject_id: str
    ae_id: str
    criteria: list[str]
    aware_at: AwareDatetime
    due_at: AwareDatetime


@register
class SaeOverdue(SubjectEvent):
    event_type: ClassVar[str] = "safety.sae.overdue"
    description: ClassVar[str] = "A serious adverse event's reporting clock ran out."

    trial_id: str
    subject_id: str
    ae_id: str
    aware_at: AwareDatetime
    due_at: AwareDatetime


@register
class IcsrReady(SubjectEvent):
    event_type: ClassVar[str] = "safety.icsr.ready"
    description: ClassVar[str] = (
        "An ICH E2B(R3) case safety report message of a serious adverse event is ready to "
        "fetch: the initial report, a follow-up, or the nullification of a withdrawn SAE."
    )

    trial_id: str
    subject_id: str
    ae_id: str
    ae_version: int = Field(ge=1, description="The AE version the message reports")
    safety_report_id: str = Field(
        description="C.1.1: the case's id, the same in its follow-ups and nullification"
    )
    message_number: int = Field(ge=1, description="1 for the first message of the AE, then +1")
    kind: Literal["initial", "follow_up", "nullification"]
    href: str = Field(description="Where to GET the message (application/xml)")
