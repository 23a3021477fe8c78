"""From a validated request to the derived results of each outcome, through the pure modules.

Every number is computed by the pure outcome modules (ct, pft, walk, blood_gas, sgrq); this module
only translates request models into their inputs, their results into JSON, and picks the headline
metrics that time series and per-dose statistics are built from.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from doseline.errors import InvalidInput
from imaging.assessments.schemas import (
    BloodGasIn,
    CtMeasurementIn,
    PulmonaryFunctionIn,
    SgrqIn,
    WalkTestIn,
)
from imaging.blood_gas import calculations as blood_gas
from imaging.ct.errors import VolumetryError
from imaging.ct.volumetry import LungLesionVolumes, from_measurements
from imaging.pft import assessment as pft
from imaging.pft.reference import PftParameter, PftReferenceError, ReferenceComparison
from imaging.pft.reference import Sex as PftSex
from imaging.pft.reference import Subject as PftSubject
from imaging.problems import IMPLAUSIBLE_MEASUREMENT
from imaging.schedule.service import ReferenceChoice
from imaging.sgrq import scoring as sgrq
from imaging.sgrq.weights import Instrument
from imaging.subjects.facts import PersonFacts
from imaging.walk import assessment as walk
from imaging.walk.reference import Sex as WalkSex
from imaging.walk.reference import WalkReferenceError

# Which metric of each kind is the headline of its outcome, in the order shown.
METRICS: dict[str, tuple[str, ...]] = {
    "ct": ("lesion_fraction", "lung_ml", "lesion_ml"),
    "pft": (
        "fev1_l",
        "fev1_percent_predicted",
        "fev1_z",
        "fvc_l",
        "fvc_percent_predicted",
        "fvc_z",
        "fev1_fvc",
        "fev1_fvc_z",
        "dlco",
        "dlco_percent_predicted",
        "dlco_z",
        # % predicted as the laboratory reported it, by its own equation: kept apart from the
        # GLI values this service computes, so that a series never mixes the two.
        "fev1_percent_predicted_reported",
        "fvc_percent_predicted_reported",
    ),
    "walk": ("distance_m", "distance_percent_predicted", "spo2_nadir_percent"),
    "blood_gas": ("pao2_mmhg", "paco2_mmhg", "pf_ratio_mmhg", "aa_gradient_mmhg"),
    "sgrq": ("sgrq_symptoms", "sgrq_activity", "sgrq_impacts", "sgrq_total"),
}


@dataclass(frozen=True)
class Derived:
    kind: str
    inputs: dict[str, Any]
    results: dict[str, Any]
    metrics: dict[str, float | None]


def as_json(value: Any) -> Any:
    """Dataclasses, enums and tuples of the pure modules as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def invalid(error: Exception) -> InvalidInput:
    return InvalidInput(str(error), problem=IMPLAUSIBLE_MEASUREMENT)


def ct_from_volumes(volumes: LungLesionVolumes, inputs: dict[str, Any]) -> Derived:
    results = as_json(volumes)
    results["lesion_fraction"] = volumes.lesion_fraction
    return Derived(
        kind="ct",
        inputs=inputs,
        results=results,
        metrics={
            "lesion_fraction": volumes.lesion_fraction,
            "lung_ml": volumes.lung_ml,
            "lesion_ml": volumes.lesion_ml,
        },
    )


def ct_measurement(body: CtMeasurementIn) -> Derived:
    try:
        volumes = from_measurements(
            lung_ml=body.lung_ml,
            lesion_ml=body.lesion_ml,
            lung_includes_lesion=body.lung_includes_lesion,
        )
    except VolumetryError as error:
        raise invalid(error) from None
    return ct_from_volumes(volumes, body.model_dump(mode="json", exclude={"performed_at"}))


def _comparison_metrics(prefix: str, comparison: ReferenceComparison | None) -> dict[str, Any]:
    if comparison is None:
        return {prefix: None, f"{prefix}_percent_predicted": None, f"{prefix}_z": None}
    return {
        prefix: comparison.measured,
        f"{prefix}_percent_predicted": comparison.percent_predicted,
        f"{prefix}_z": comparison.z_score,
    }


@dataclass(frozen=True)
class Person:
    """Sex, age and height complete, for the reference equations."""

    sex: str
    age_years: float
    height_cm: float


def complete_person(facts: PersonFacts, location: Sequence[str]) -> Person:
    """The facts as a Person; a 422 at the first one neither given nor recorded."""
    if facts.sex is None or facts.age_years is None or facts.height_cm is None:
        raise InvalidInput.at(
            [*location, facts.missing[0]],
            "is required for the reference equations: give it, or record it at screening",
        )
    return Person(facts.sex, facts.age_years, facts.height_cm)


def sources_of(facts: PersonFacts) -> dict[str, Any]:
    """Each fact used with where it came from, as results show them."""
    values = {"sex": facts.sex, "age_years": facts.age_years, "height_cm": facts.height_cm}
    return {
        name: {"value": values[name], "source": source} for name, source in facts.sources.items()
    }


def pulmonary_function(
    body: PulmonaryFunctionIn, references: ReferenceChoice, facts: PersonFacts
) -> Derived:
    person = complete_person(facts, ["body"])
    if body.fev1_l is None and body.fvc_l is None and body.dlco is None:
        raise InvalidInput.at(["body"], "give at least one of fev1_l, fvc_l and dlco")
    haemoglobin = (
        None
        if body.haemoglobin is None
        else pft.Haemoglobin(body.haemoglobin, pft.HaemoglobinUnit(body.haemoglobin_unit))
    )
    measurements = pft.PftMeasurements(
        fev1_l=body.fev1_l,
        fvc_l=body.fvc_l,
        transfer_factor=body.dlco,
        transfer_factor_parameter=(
            PftParameter.DLCO if body.dlco_unit == "mL/min/mmHg" else PftParameter.TLCO
        ),
        haemoglobin=haemoglobin,
    )
    subject = PftSubject(PftSex(person.sex), person.age_years, person.height_cm)
    try:
        report = pft.assess_pft(
            measurements,
            subject,
            spirometry_equation=references.spirometry_equation,
            ethnicity=references.gli_2012_ethnicity,
        )
    except PftReferenceError as error:
        raise invalid(error) from None
    transfer = report.transfer_factor
    metrics = {
        **_comparison_metrics("fev1", report.fev1),
        **_comparison_metrics("fvc", report.fvc),
    }
    metrics["fev1_l"] = metrics.pop("fev1")
    metrics["fvc_l"] = metrics.pop("fvc")
    metrics["fev1_fvc"] = None if report.fev1_fvc is None else report.fev1_fvc.measured
    metrics["fev1_fvc_z"] = None if report.fev1_fvc is None else report.fev1_fvc.z_score
    metrics.update(_comparison_metrics("dlco", None if transfer is None else transfer.comparison))
    return Derived(
        kind="pft",
        inputs=body.model_dump(mode="json", exclude={"performed_at"}),
        results={**as_json(report), "subject_facts": sources_of(facts)},
        metrics=metrics,
    )


def pulmonary_function_measured(
    measured: dict[str, float | None],
    *,
    dlco_unit: str,
    reason: str,
) -> Derived:
    """Lung function values recorded as measured, without a reference comparison (`reason`
    says why: the person's sex, age or height is not known, or only ratios or % predicted were
    sent). FEV1/FVC is computed when FEV1 and FVC are both given and no ratio was sent."""
    fev1, fvc, ratio = measured.get("fev1_l"), measured.get("fvc_l"), measured.get("fev1_fvc")
    if ratio is None and fev1 is not None and fvc is not None:
        if fev1 > fvc:
            raise invalid(
                PftReferenceError(
                    f"FEV1 {fev1} L exceeds FVC {fvc} L; FEV1 is part of the forced vital capacity"
                )
            )
        ratio = fev1 / fvc
    metrics: dict[str, float | None] = dict.fromkeys(METRICS["pft"])
    metrics.update(
        {
            "fev1_l": fev1,
            "fvc_l": fvc,
            "fev1_fvc": ratio,
            "dlco": measured.get("dlco"),
            "fev1_percent_predicted_reported": measured.get("fev1_percent_predicted_reported"),
            "fvc_percent_predicted_reported": measured.get("fvc_percent_predicted_reported"),
        }
    )
    return Derived(
        kind="pft",
        inputs={**measured, "dlco_unit": dlco_unit},
        results={
            "measured": {name: value for name, value in metrics.items() if value is not None},
            "reference": None,
            "reference_unavailable": reason,
        },
        metrics=metrics,
    )


def walk_test(
    body: WalkTestIn, references: ReferenceChoice, facts: PersonFacts, site_course_length_m: float
) -> Derived:
    """``site_course_length_m`` is used when the body gives no course length."""
    person = complete_person(facts, ["body"])
    course_length_m = site_course_length_m if body.course_length_m is None else body.course_length_m
    oxygen = None
    if body.oxygen_flow_l_min is not None or body.oxygen_device is not None:
        if body.oxygen_flow_l_min is None or body.oxygen_device is None:
            raise InvalidInput.at(
                ["body", "oxygen_device"], "give both the oxygen flow and the device, or neither"
            )
        oxygen = walk.SupplementalOxygen(body.oxygen_flow_l_min, body.oxygen_device)
    test = walk.SixMinuteWalkTest(
        distance_m=body.distance_m,
        course_length_m=course_length_m,
        stops=body.stops,
        spo2_before_percent=body.spo2_before_percent,
        spo2_end_percent=body.spo2_end_percent,
        spo2_lowest_percent=body.spo2_lowest_percent,
        heart_rate_before_per_min=body.heart_rate_before_per_min,
        heart_rate_end_per_min=body.heart_rate_end_per_min,
        borg_dyspnoea_before=body.borg_dyspnoea_before,
        borg_dyspnoea_after=body.borg_dyspnoea_after,
        borg_fatigue_before=body.borg_fatigue_before,
        borg_fatigue_after=body.borg_fatigue_after,
        supplemental_oxygen=oxygen,
    )
    try:
        result = walk.assess_walk(
            test,
            sex=WalkSex(person.sex),
            age_years=person.age_years,
            height_cm=person.height_cm,
            weight_kg=body.weight_kg,
            equation=references.walk_equation,
        )
    except (walk.WalkTestError, WalkReferenceError) as error:
        raise invalid(error) from None
    return Derived(
        kind="walk",
        inputs=body.model_dump(mode="json", exclude={"performed_at"}),
        results={
            **as_json(result),
            "subject_facts": sources_of(facts),
            "course_length": {
                "value": course_length_m,
                "source": "request" if body.course_length_m is not None else "site setting",
            },
        },
        metrics={
            "distance_m": body.distance_m,
            "distance_percent_predicted": result.percent_predicted,
            "spo2_nadir_percent": result.spo2_nadir_percent,
        },
    )


def blood_gas_sample(body: BloodGasIn) -> Derived:
    pressure_unit = blood_gas.PressureUnit(body.pressure_unit)
    sample = blood_gas.BloodGasSample(
        ph=body.ph,
        pao2=blood_gas.Pressure(body.pao2, pressure_unit),
        paco2=blood_gas.Pressure(body.paco2, pressure_unit),
        fio2=body.fio2,
        fio2_unit=blood_gas.Fio2Unit(body.fio2_unit),
        oxygen_device=blood_gas.OxygenDevice(body.oxygen_device),
        oxygen_flow_l_min=body.oxygen_flow_l_min,
        hco3_mmol_l=body.hco3_mmol_l,
        base_excess_mmol_l=body.base_excess_mmol_l,
        sao2_percent=body.sao2_percent,
        barometric_pressure=blood_gas.Pressure(
            body.barometric_pressure, blood_gas.PressureUnit(body.barometric_unit)
        ),
    )
    try:
        result = blood_gas.assess(sample, age_years=body.age_years)
    except blood_gas.BloodGasInputError as error:
        raise invalid(error) from None
    return Derived(
        kind="blood_gas",
        inputs=body.model_dump(mode="json", exclude={"performed_at"}),
        results=as_json(result),
        metrics={
            "pao2_mmhg": result.pao2_mmhg,
            "paco2_mmhg": result.paco2_mmhg,
            "pf_ratio_mmhg": result.pf_ratio_mmhg,
            "aa_gradient_mmhg": result.aa_gradient_mmhg,
        },
    )


def sgrq_questionnaire(body: SgrqIn) -> Derived:
    try:
        scores = sgrq.score(Instrument(body.instrument), body.responses)
    except sgrq.SgrqResponseError as error:
        raise invalid(error) from None
    return Derived(
        kind="sgrq",
        inputs=body.model_dump(mode="json", exclude={"performed_at"}),
        results=as_json(scores),
        metrics={
            "sgrq_symptoms": scores.symptoms.score,
            "sgrq_activity": scores.activity.score,
            "sgrq_impacts": scores.impacts.score,
            "sgrq_total": scores.total,
        },
    )
