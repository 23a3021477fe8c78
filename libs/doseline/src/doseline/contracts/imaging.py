"""Events published by the imaging and outcomes service."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from doseline.contracts.registry import register
from doseline.events import EventContract, SubjectEvent

OutcomeKind = Literal["ct", "pft", "walk", "blood_gas", "sgrq"]


class _SubjectOutcomeEvent(SubjectEvent):
    trial_id: str = Field(description="Trial code, e.g. HDMSC-RP-01")
    subject_id: str = Field(description="Study subject id; never a hospital identifier")


@register
class CtMeasured(_SubjectOutcomeEvent):
    event_type: ClassVar[str] = "imaging.ct.measured"
    description: ClassVar[str] = (
        "A chest CT was measured: lung and lesion volumes and the lesion fraction p."
    )

    assessment_id: str
    performed_on: date
    visit: str | None = Field(description="Visit code, or None while the visit is pending")
    source: Literal["radiologist_measurement", "nifti_label_map", "dicom_seg"]
    lung_ml: float
    lesion_ml: float
    lesion_fraction: float


@register
class CtUploaded(EventContract):
    """Imaging's own work order: a stored segmentation waits to be measured by a worker."""

    event_type: ClassVar[str] = "imaging.ct.uploaded"
    public: ClassVar[bool] = False
    description: ClassVar[str] = (
        "A CT segmentation was stored and its analysis queued; an imaging worker measures it."
    )

    analysis_id: str = Field(description="The queued CT analysis")


@register
class OutcomeRecorded(_SubjectOutcomeEvent):
    event_type: ClassVar[str] = "imaging.outcome.recorded"
    description: ClassVar[str] = (
        "An outcome assessment (CT, lung function, walk, blood gas, SGRQ) was recorded or voided."
    )

    assessment_id: str
    kind: OutcomeKind
    performed_on: date
    visit: str | None
    out_of_window: bool
    status: Literal["recorded", "voided"]
    recorded_at: AwareDatetime


@register
class VisitMissed(_SubjectOutcomeEvent):
    event_type: ClassVar[str] = "imaging.visit.missed"
    description: ClassVar[str] = (
        "A follow-up visit's window closed with no outcome assessment recorded in it."
    )

    visit: str
    target_on: date
    window_end: date
