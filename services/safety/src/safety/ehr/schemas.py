"""Request and response models of EHR lab intake and of proposed adverse events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from doseline.fhir.outcomes import status_line
from doseline.http import RequestModel
from safety.adverse_events.schemas import ActionTaken, Attribution, Outcome, SeriousnessCriterion
from safety.ehr.models import LabIntakeConflictRow, ProposedAdverseEventRow

EntryOutcome = Literal[
    "proposed",  # a new proposed AE (grade >= 1, within the AE reporting period)
    "updated",  # an amended or corrected result updated the earlier proposal
    "withdrawn",  # the corrected result no longer grades >= 1, or was entered in error
    "graded",  # stored and graded; grade 0, nothing to propose
    "history",  # before (or after) the AE reporting period: stored for the baseline only
    "duplicate",  # this Observation id and version was received before with the same content
    "conflict",  # the same id and version with other content: kept for review, nothing changed
    "stale",  # an older version than one already received: stored, proposal unchanged
    "ignored",  # a status that is not graded (preliminary, registered, cancelled)
    "skipped",  # not a lab result CTCAE grades (a Patient, a vital sign, an unmapped code)
    "report",  # a DiagnosticReport or panel: its results are answered one by one
    "rejected",  # not usable: `detail` says why and names the missing fact
]


class LabIntakeOut(BaseModel):
    """What became of one received resource (for a Bundle, one entry of the response Bundle)."""

    observation_id: str | None = None
    version_id: str | None = None
    outcome: EntryOutcome
    status: str = Field(description="HTTP-style status of the resource, e.g. '201 Created'")
    detail: str
    proposal_id: uuid.UUID | None = None
    term: str | None = None
    grade: int | None = None
    results: list[LabIntakeOut] = Field(
        default_factory=list,
        description="For a DiagnosticReport or panel: each of its contained results",
    )

    @classmethod
    def of(cls, status: int, outcome: EntryOutcome, detail: str, **fields: Any) -> LabIntakeOut:
        return cls(status=status_line(status), outcome=outcome, detail=detail, **fields)

    @property
    def status_code(self) -> int:
        return int(self.status.split(" ", 1)[0])


class ConflictOut(BaseModel):
    id: uuid.UUID
    observation_id: str
    version_id: str
    subject_id: str
    summary: dict[str, Any]
    received_at: datetime
    received_by: str

    @classmethod
    def of(cls, row: LabIntakeConflictRow) -> ConflictOut:
        return cls(
            id=row.id,
            observation_id=row.observation_id,
            version_id=row.version_id,
            subject_id=row.subject_id,
            summary=row.summary,
            received_at=row.received_at,
            received_by=row.received_by,
        )


class ProposalOut(BaseModel):
    id: uuid.UUID
    observation_id: str
    observation_version_id: str
    trial_id: str
    subject_id: str
    ctcae_version: str
    term_code: str
    term: str
    proposed_grade: int
    grading_reason: str
    grading_basis: dict[str, Any]
    onset_date: date
    status: Literal["proposed", "accepted", "rejected", "withdrawn"]
    ae_id: uuid.UUID | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def of(cls, row: ProposedAdverseEventRow) -> ProposalOut:
        return cls(
            id=row.id,
            observation_id=row.observation_id,
            observation_version_id=row.observation_version_id,
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            ctcae_version=row.ctcae_version,
            term_code=row.term_code,
            term=row.term_name,
            proposed_grade=row.proposed_grade,
            grading_reason=row.grading_reason,
            grading_basis=row.grading_basis,
            onset_date=row.onset_date,
            status=row.status,
            ae_id=row.ae_id,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            decision_reason=row.decision_reason,
        )


class AcceptanceIn(RequestModel):
    """The investigator's report built on the proposal; the grade defaults to the proposed one."""

    grade: int | None = Field(default=None, ge=1, le=5)
    verbatim: str | None = Field(default=None, min_length=1, max_length=2000)
    attribution: Attribution
    seriousness: list[SeriousnessCriterion] = Field(default_factory=list, max_length=6)
    aware_at: AwareDatetime | None = None
    expected: bool | None = None
    action_taken: ActionTaken
    outcome: Outcome
    resolution_date: date | None = None


class RejectionIn(RequestModel):
    reason: str = Field(min_length=3, max_length=2000)
