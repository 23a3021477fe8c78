"""Events published by the enrollment service."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from doseline.contracts.registry import register
from doseline.events import EventContract, SubjectEvent

StudySubjectId = str  # the system-issued study id, e.g. "HDMSC-RP-01-001"; never a hospital id


class _TrialEvent(EventContract):
    trial_id: str = Field(description="Trial code, e.g. HDMSC-RP-01")


class _SubjectTrialEvent(_TrialEvent, SubjectEvent):
    """A trial event about one subject, naming the subject's site."""


@register
class SubjectScreened(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.subject.screened"
    description: ClassVar[str] = "A subject's screening was completed, eligible or not."

    subject_id: StudySubjectId
    eligible: bool
    screened_on: date


@register
class SubjectEnrolled(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.subject.enrolled"
    description: ClassVar[str] = "A subject took a slot in a cohort at a dose level."

    subject_id: StudySubjectId
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    enrolled_at: AwareDatetime
    protocol_version: str
    site_time_zone: str = Field(
        description="IANA zone of the subject's site, for study-day arithmetic"
    )
    hospital_id_hashes: list[str] = Field(
        default_factory=list,
        description=(
            "Keyed hashes (doseline.identity) of the subject's hospital identifiers, so that "
            "services matching EHR records can find the subject without ever seeing the MRN"
        ),
    )
    # The screening's subject facts (absent when the screening recorded none): the reference
    # equations of lung function and walk tests need them, so results need not repeat them.
    sex: Literal["female", "male"] | None = Field(
        default=None, description="Sex assigned at birth, as recorded at screening"
    )
    birth_date: date | None = Field(
        default=None, description="Birth date recorded at screening; ages are computed from it"
    )
    height_cm: float | None = Field(
        default=None, gt=0, le=300, description="Standing height at screening, cm"
    )


@register
class InfusionAdministered(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.infusion.administered"
    description: ClassVar[str] = (
        "An infusion was given; carries the subject's day 1 and DLT window so consumers "
        "can evaluate onset days without asking enrollment."
    )

    subject_id: StudySubjectId
    infusion_number: int = Field(ge=1)
    infusions_planned: int = Field(ge=1)
    is_last: bool
    administered_at: AwareDatetime
    dose_level: int = Field(ge=1)
    dose_cells: str = Field(description="Dose given, decimal string, cells")
    first_infusion_on: date
    dlt_window_start: date
    dlt_window_end: date
    deviation: str | None = None
    dose_cells_per_kg: str | None = Field(
        default=None, description="Dose given per kg of the dosing weight, decimal string"
    )
    full_dose: bool = Field(
        default=True,
        description=(
            "The whole dose of the subject's level was given: false when the infusion was "
            "interrupted short or reduced by an investigator's order"
        ),
    )
    interrupted: bool = Field(
        default=False, description="Stopped before the whole prepared volume was given"
    )
    volume_given_ml: str | None = Field(
        default=None, description="Volume given, decimal string, mL (when recorded)"
    )
    volume_prepared_ml: str | None = Field(
        default=None, description="Volume prepared, decimal string, mL (when recorded)"
    )
    percent_of_dose: int = Field(
        default=100, ge=1, le=100, description="The dose ordered, % of the level's dose"
    )


DeviationKind = Literal["missed-infusion", "infusion-outside-window", "partial-dose"]


@register
class ProtocolDeviationRecorded(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.protocol_deviation.recorded"
    description: ClassVar[str] = (
        "An infusion departed from the plan: missed (its window closed with no infusion), "
        "given outside its window, or given short of the prepared dose (interrupted); with "
        "the planned day and window and, when given, the actual time."
    )

    deviation_id: str
    subject_id: StudySubjectId
    kind: DeviationKind
    infusion_number: int = Field(ge=1)
    planned_on: date = Field(description="Planned site calendar day of the infusion")
    window_opens: date
    window_closes: date
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the infusion was given; null for a missed one"
    )
    detail: str = Field(description="What happened, in words")


@register
class DoseOrderRecorded(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.dose_order.recorded"
    description: ClassVar[str] = (
        "An investigator held a subject's dose (no dose is prepared or given until the hold "
        "is released) or reduced it (every later dose at `percent_of_dose` of the level's)."
    )

    order_id: str
    subject_id: StudySubjectId
    kind: Literal["hold", "reduction"]
    percent_of_dose: int | None = Field(default=None, ge=1, le=99)
    from_infusion: int = Field(ge=1, description="The first infusion the order applies to")
    reason: str
    ordered_by: str


@register
class DoseOrderResolved(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.dose_order.resolved"
    description: ClassVar[str] = (
        "A dose hold was released (dosing resumes) or made permanent (no further dose)."
    )

    order_id: str
    subject_id: StudySubjectId
    outcome: Literal["released", "permanent"]
    reason: str
    resolved_by: str


@register
class DltWindowClosed(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.dlt_window.closed"
    description: ClassVar[str] = "A subject's DLT observation window ended; evaluability decided."

    subject_id: StudySubjectId
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    window_start: date
    window_end: date
    evaluable: bool
    reason: str


@register
class DltWindowReassessed(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.dlt_window.reassessed"
    description: ClassVar[str] = (
        "A fact that arrived after a subject's DLT window closed (an infusion, a DLT "
        "adjudication, a correction) changed the subject's evaluability; `status` is the new "
        "judgement (`pending` re-opens the window until a suspected DLT is adjudicated)."
    )

    subject_id: StudySubjectId
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    window_start: date
    window_end: date
    status: Literal["evaluable", "not-evaluable", "pending"]
    previous_evaluable: bool | None = Field(
        description="Evaluability the closed window held before the late fact"
    )
    reason: str
    late_fact: str = Field(description="The fact that re-opened the computation")


@register
class ReplacementSlotWithdrawn(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.replacement_slot.withdrawn"
    description: ClassVar[str] = (
        "A replacement slot opened for a subject judged not DLT-evaluable was withdrawn, still "
        "empty, because a late fact showed the subject needs no replacement."
    )

    replacement_slot_id: str
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    replaced_subject_id: StudySubjectId
    slots: int = Field(ge=1, description="Slots of the cohort after the withdrawal")
    reason: str


@register
class ReplacementSlotFlagged(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.replacement_slot.flagged"
    description: ClassVar[str] = (
        "A replacement slot turned out to rest on a wrong premise after a subject had taken "
        "it; the investigator must review the cohort."
    )

    replacement_slot_id: str
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    replaced_subject_id: StudySubjectId
    occupant_subject_id: StudySubjectId
    reason: str


WithdrawalReason = Literal[
    "consent_withdrawn", "investigator_decision", "lost_to_follow_up", "death"
]


@register
class SubjectWithdrawn(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.subject.withdrawn"
    description: ClassVar[str] = (
        "An enrolled subject was withdrawn or discontinued from `effective_on` (site calendar "
        "day): no further infusion; follow-up visits continue only with `safety_follow_up`. "
        "Carries the subject's DLT evaluability as judged with the withdrawal counted."
    )

    subject_id: StudySubjectId
    reason: WithdrawalReason
    effective_on: date = Field(description="Site calendar day the withdrawal takes effect")
    safety_follow_up: bool = Field(
        description="Consent allows continued safety follow-up (always false after a death)"
    )
    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    infusions_received: int = Field(ge=0)
    dlt_evaluability: Literal["evaluable", "not-evaluable", "pending"] = Field(
        description=(
            "`pending` while the DLT window is judged later (a suspected DLT awaits "
            "adjudication, or the withdrawal takes effect after the window's last day)"
        )
    )
    replacement_slot_opened: bool = Field(
        description="A slot was added to the cohort to replace the subject (within the cap)"
    )


@register
class WaitlistEntryRemoved(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.waitlist.removed"
    description: ClassVar[str] = (
        "A subject was taken off the trial's waitlist without being enrolled; the subjects "
        "behind move up."
    )

    subject_id: StudySubjectId
    position: int = Field(ge=1, description="The position the subject held")
    reason: str


@register
class EscalationRecommended(_TrialEvent):
    event_type: ClassVar[str] = "enrollment.escalation.recommended"
    description: ClassVar[str] = "The 3+3 rules produced a recommendation awaiting signatures."

    recommendation_id: str
    cohort_number: int = Field(ge=1)
    outcomes: str = Field(description="Outcome string, e.g. '1NNN 2NTN'")
    continue_trial: bool
    next_dose: int | None
    mtd: int | None
    reason: str
    protocol_version: str
    state_hash: str


@register
class EscalationDecided(_TrialEvent):
    event_type: ClassVar[str] = "enrollment.escalation.decided"
    description: ClassVar[str] = (
        "An escalation decision was signed by investigator and safety physician."
    )

    decision_id: str
    recommendation_id: str
    outcome: Literal["escalate", "stay", "de-escalate", "stop"]
    next_dose: int | None
    mtd: int | None
    state_hash: str
    signed_at: AwareDatetime


@register
class EscalationDecisionWithdrawn(_TrialEvent):
    event_type: ClassVar[str] = "enrollment.escalation.decision_withdrawn"
    description: ClassVar[str] = (
        "A signed escalation decision was withdrawn because a safety fact of its cohort changed "
        "before the next cohort opened; a new decision from the current facts awaits both "
        "signatures."
    )

    decision_id: str
    cohort_number: int = Field(ge=1)
    signed_state_hash: str
    current_state_hash: str
    reason: str


@register
class EscalationLateDltResolved(_SubjectTrialEvent):
    event_type: ClassVar[str] = "enrollment.escalation.late_dlt_resolved"
    description: ClassVar[str] = (
        "The investigator and the safety physician signed how they resolved a DLT confirmed "
        "after the decision on its cohort was signed and acted on: the decision stands, is "
        "revised, or a cohort is expanded. Automatic decisions resume on the history it declares."
    )

    resolution_id: str
    dlt_id: str
    subject_id: StudySubjectId
    cohort_number: int = Field(ge=1, description="The cohort of the subject with the DLT")
    decision_id: str = Field(description="The signed decision the DLT arrived after")
    decision_cohort_number: int = Field(ge=1)
    outcome: Literal["decision_stands", "decision_revised", "cohort_expanded"]
    reason: str
    continue_trial: bool | None = Field(
        description="decision_revised: whether the trial goes on (else null)"
    )
    next_dose: int | None = Field(description="decision_revised: the level of the next cohort")
    next_cohort_size: int | None
    mtd: int | None = Field(description="decision_revised with a stop: the declared MTD")
    expanded_cohort_number: int | None = Field(
        description="cohort_expanded: the cohort whose dose level the added subjects receive"
    )
    added_subjects: int | None
    opened_cohort_number: int | None = Field(
        description="cohort_expanded: the cohort opened for the added subjects"
    )
    state_hash: str = Field(description="The escalation state both signers reviewed")
    resolved_at: AwareDatetime


@register
class CohortOpened(_TrialEvent):
    event_type: ClassVar[str] = "enrollment.cohort.opened"
    description: ClassVar[str] = "A cohort opened for enrolment at a dose level."

    cohort_number: int = Field(ge=1)
    dose_level: int = Field(ge=1)
    slots: int = Field(ge=1)


@register
class TrialCompleted(_TrialEvent):
    event_type: ClassVar[str] = "enrollment.trial.completed"
    description: ClassVar[str] = "Dose escalation ended; the MTD (or none) is declared."

    mtd: int | None
    outcomes: str
    completed_at: datetime
