"""Request and response models of outcome assessments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from doseline.http import RequestModel
from imaging.assessments.models import AssessmentRow

Sex = Literal["female", "male"]
Kind = Literal["ct", "pft", "walk", "blood_gas", "sgrq"]


class AssessmentIn(RequestModel):
    """What every assessment's body has: when it was done."""

    # NaN and infinity are valid Python JSON but not numbers a measurement can have.
    model_config = ConfigDict(allow_inf_nan=False)

    performed_at: AwareDatetime = Field(
        description="When the assessment was done, with its UTC offset; its site calendar day "
        "decides the visit"
    )


class CtMeasurementIn(AssessmentIn):
    """A radiologist's volumes of one chest CT."""

    lung_ml: float = Field(ge=0, description="Lung volume, mL")
    lesion_ml: float = Field(ge=0, description="Lesion volume, mL")
    lung_includes_lesion: bool = Field(
        default=True,
        description="True when lung_ml is the whole lung with its lesions (the protocol's "
        "V_lung); false when it is the lung outside the lesions",
    )


class _PersonIn(AssessmentIn):
    """The person's facts the reference equations need: each may be omitted when enrollment
    recorded it at screening, and a given one must agree with the recorded one (sex exactly,
    height within 3 cm, age within 1 year of the age computed from the birth date)."""

    sex: Sex | None = Field(default=None, description="Omitted: the sex recorded at screening")
    age_years: float | None = Field(
        default=None,
        gt=0,
        le=120,
        description="Omitted: computed at the test's site day from the birth date recorded at "
        "screening",
    )
    height_cm: float | None = Field(
        default=None, gt=0, le=300, description="Omitted: the height recorded at screening"
    )


class PulmonaryFunctionIn(_PersonIn):
    """The best values of one lung function session."""

    fev1_l: float | None = Field(default=None, gt=0)
    fvc_l: float | None = Field(default=None, gt=0)
    dlco: float | None = Field(default=None, gt=0, description="Transfer factor, in dlco_unit")
    dlco_unit: Literal["mL/min/mmHg", "mmol/min/kPa"] = "mL/min/mmHg"
    haemoglobin: float | None = Field(
        default=None, gt=0, description="Blood Hb for the DLCO correction, in haemoglobin_unit"
    )
    haemoglobin_unit: Literal["g/dL", "g/L"] = "g/dL"


class WalkTestIn(_PersonIn):
    """One six-minute walk test (ATS 2002; ERS/ATS 2014)."""

    weight_kg: float = Field(gt=0, le=400)
    distance_m: float = Field(ge=0)
    course_length_m: float | None = Field(
        default=None,
        gt=0,
        description="Omitted: the site's course in the protocol (walk_course_length_m; the ATS "
        "standard 30 m when the protocol sets none)",
    )
    stops: int = Field(ge=0, le=100)
    spo2_before_percent: float | None = None
    spo2_end_percent: float | None = None
    spo2_lowest_percent: float | None = None
    heart_rate_before_per_min: int | None = None
    heart_rate_end_per_min: int | None = None
    borg_dyspnoea_before: float | None = None
    borg_dyspnoea_after: float | None = None
    borg_fatigue_before: float | None = None
    borg_fatigue_after: float | None = None
    oxygen_flow_l_min: float | None = Field(default=None, description="Supplemental O2, L/min")
    oxygen_device: str | None = Field(default=None, max_length=100)


class BloodGasIn(AssessmentIn):
    """One arterial blood gas sample with the oxygen it was drawn on."""

    age_years: float | None = Field(default=None, gt=0, le=120)
    ph: float
    pao2: float
    paco2: float
    pressure_unit: Literal["mm[Hg]", "kPa"] = Field(
        default="mm[Hg]", description="Unit of PaO2 and PaCO2"
    )
    hco3_mmol_l: float | None = None
    base_excess_mmol_l: float | None = None
    sao2_percent: float | None = None
    fio2: float = Field(description="Inspired O2 as a fraction (0.21-1) or percent, see fio2_unit")
    fio2_unit: Literal["1", "%"] = "1"
    oxygen_device: Literal[
        "room_air",
        "nasal_cannula",
        "simple_face_mask",
        "venturi_mask",
        "non_rebreather_mask",
        "high_flow_nasal_cannula",
        "non_invasive_ventilation",
        "invasive_ventilation",
        "other",
    ] = "room_air"
    oxygen_flow_l_min: float | None = None
    barometric_pressure: float = Field(default=760.0, description="In barometric_unit")
    barometric_unit: Literal["mm[Hg]", "kPa"] = "mm[Hg]"


class SgrqIn(AssessmentIn):
    """Item responses of one SGRQ or SGRQ-C (item identifiers only; the wording is licensed)."""

    instrument: Literal["SGRQ", "SGRQ-C"] = "SGRQ"
    responses: dict[str, StrictInt | StrictBool | None] = Field(
        description="Item number as printed ('1', '11a', …) → option position (1 = first "
        "option) for single-choice items, true/false for yes/no and true/false items; "
        "absent or null = missing",
        max_length=60,
    )


class CorrectionIn(RequestModel):
    """New values for a manually recorded assessment, with the reason for the change."""

    reason: str = Field(min_length=3, max_length=2000, description="Reason for change")
    values: dict[str, Any] = Field(
        description="The full request body of the assessment's kind (as when it was recorded)"
    )


class VoidIn(RequestModel):
    reason: str = Field(min_length=3, max_length=2000, description="Why the record is voided")


class AssessmentOut(BaseModel):
    id: uuid.UUID
    trial_id: str
    subject_id: str
    kind: Kind
    performed_at: datetime
    performed_on: date = Field(description="Site calendar day")
    visit: str | None = Field(description="Visit code; null while pending")
    visit_target_on: date | None
    days_from_target: int | None
    out_of_window: bool
    visit_pending_reason: str | None
    inputs: dict[str, Any]
    results: dict[str, Any]
    metrics: dict[str, float | None]
    source: str
    status: Literal["recorded", "voided"]
    void_reason: str | None
    recorded_by: str
    recorded_at: datetime
    version: int

    @classmethod
    def of(cls, row: AssessmentRow) -> AssessmentOut:
        return cls(
            id=row.id,
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            kind=row.kind,
            performed_at=row.performed_at,
            performed_on=row.performed_on,
            visit=row.visit,
            visit_target_on=row.visit_target_on,
            days_from_target=row.days_from_target,
            out_of_window=row.out_of_window,
            visit_pending_reason=row.pending_reason,
            inputs=row.inputs,
            results=row.results,
            metrics=row.metrics,
            source=row.source,
            status=row.status,
            void_reason=row.void_reason,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            version=row.version,
        )
