"""Reading one FHIR R4 Observation into the request model of the outcome it carries.

Accepted (LOINC codes from OUTCOMES.md §6.1; validate against a LOINC release before go-live):
- Pulmonary function: `code` 81458-2 (PFT panel) or 81459-0 (spirometry panel), components
  FEV1 20150-9 (L), FVC 19870-5 or 19868-9 (L), DLCO 19911-7 (mL/min/mm[Hg] or mmol/min/kPa),
  haemoglobin 718-7 (g/dL or g/L). The reference equations need the person: body height 8302-2
  (cm), age 30525-0 (a) and sex 76689-9 (LOINC answers LA2-8 male, LA3-6 female) as components.
- Arterial blood gas: `code` 24336-0 (arterial blood gas panel), components pH 2744-1, PaO2 2703-7
  and PaCO2 2019-8 (mm[Hg] or kPa), HCO3 1960-4, base excess 1925-7 (mmol/L), SaO2 2708-6 (%),
  FiO2 3150-0 (% or fraction), O2 flow 3151-8 (L/min), age 30525-0 optional. FHIR gives no
  barometric pressure here: sea level (760 mmHg) is assumed and the inputs say so.
- Six-minute walk: `code` 64098-7 with valueQuantity in m, components 8302-2, 29463-7 (kg),
  30525-0 and 76689-9. Course length and stops have no LOINC code: the standard 30 m course is
  assumed and stops are recorded as not reported (0), both noted in the inputs.
The subject is `subject.identifier`: the study subject id (system urn:doseline:study-subject-id),
or a hospital identifier matched through its keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.observation import Observation
from pydantic import BaseModel, ValidationError

from doseline.errors import InvalidInput
from imaging.assessments.schemas import BloodGasIn, PulmonaryFunctionIn, WalkTestIn
from imaging.blood_gas import loinc as blood_gas_loinc
from imaging.blood_gas.calculations import kpa_to_mmhg
from imaging.pft import loinc as pft_loinc
from imaging.walk import loinc as walk_loinc

LOINC_SYSTEM = "http://loinc.org"
STUDY_SUBJECT_SYSTEM = "urn:doseline:study-subject-id"
BODY_HEIGHT = "8302-2"
BODY_WEIGHT = "29463-7"
AGE = "30525-0"
SEX_ASSIGNED_AT_BIRTH = "76689-9"
HAEMOGLOBIN = "718-7"
SEX_ANSWERS = {"LA2-8": "male", "LA3-6": "female", "male": "male", "female": "female"}
RECORDED_STATUSES = frozenset({"final", "amended", "corrected"})
ROOM_AIR_FIO2 = 0.21
STANDARD_COURSE_M = 30.0


def _problem(message: str) -> InvalidInput:
    return InvalidInput(message, slug="unusable-observation", title="Unusable FHIR Observation")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str


@dataclass(frozen=True)
class ParsedObservation:
    observation_id: str
    version_id: str
    status: str
    subject_system: str
    subject_value: str
    code: str
    effective: datetime
    quantities: dict[str, Quantity] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)


def _loinc_code(concept: Any) -> str | None:
    for coding in getattr(concept, "coding", None) or []:
        if coding.system == LOINC_SYSTEM and coding.code:
            return str(coding.code)
    return None


def _answer(concept: Any) -> str | None:
    for coding in getattr(concept, "coding", None) or []:
        if coding.code:
            return str(coding.code)
    return None


def parse(payload: Any) -> ParsedObservation:
    if not isinstance(payload, dict) or payload.get("resourceType") != "Observation":
        raise _problem("the body must be a FHIR R4 Observation (resourceType 'Observation')")
    try:
        observation = Observation.model_validate(payload)
    except ValidationError as error:
        raise _problem(f"not a valid FHIR R4 Observation: {error.errors()[0]['msg']}") from None
    if not observation.id:
        raise _problem("Observation.id is required (with meta.versionId it identifies the result)")
    if observation.meta is None or not observation.meta.versionId:
        raise _problem("Observation.meta.versionId is required (it dedupes deliveries)")
    identifier = observation.subject.identifier if observation.subject is not None else None
    if identifier is None or not identifier.system or not identifier.value:
        raise _problem("Observation.subject.identifier with system and value is required")
    code = _loinc_code(observation.code)
    if code is None:
        raise _problem("Observation.code needs a LOINC coding (system http://loinc.org)")
    effective = observation.effectiveDateTime
    if not isinstance(effective, datetime):
        raise _problem(
            "Observation.effectiveDateTime has a date only; the time with its UTC offset is "
            "needed to place the result on the visit calendar"
            if isinstance(effective, date)
            else "Observation.effectiveDateTime (a date and time with its UTC offset) is required"
        )
    if effective.tzinfo is None:
        raise _problem("Observation.effectiveDateTime must carry its UTC offset")
    quantities: dict[str, Quantity] = {}
    answers: dict[str, str] = {}

    def take(concept: Any, quantity: Any, codeable: Any) -> None:
        component_code = _loinc_code(concept)
        if component_code is None:
            return
        if quantity is not None and quantity.value is not None:
            unit = str(quantity.code or quantity.unit or "")
            quantities[component_code] = Quantity(float(quantity.value), unit)
        elif codeable is not None and (answer := _answer(codeable)) is not None:
            answers[component_code] = answer

    take(observation.code, observation.valueQuantity, observation.valueCodeableConcept)
    for component in observation.component or []:
        take(component.code, component.valueQuantity, component.valueCodeableConcept)
    return ParsedObservation(
        observation_id=str(observation.id),
        version_id=str(observation.meta.versionId),
        status=str(observation.status),
        subject_system=str(identifier.system),
        subject_value=str(identifier.value),
        code=code,
        effective=effective,
        quantities=quantities,
        answers=answers,
    )


def _value(parsed: ParsedObservation, code: str, name: str, units: dict[str, float]) -> float:
    found = _optional(parsed, code, name, units)
    if found is None:
        raise _problem(f"{name} (LOINC {code}) is required")
    return found


def _optional(
    parsed: ParsedObservation, code: str, name: str, units: dict[str, float]
) -> float | None:
    quantity = parsed.quantities.get(code)
    if quantity is None:
        return None
    if quantity.unit not in units:
        raise _problem(
            f"{name} (LOINC {code}) in {quantity.unit!r}: give it in one of "
            + ", ".join(repr(unit) for unit in units)
        )
    return quantity.value * units[quantity.unit]


def _person(parsed: ParsedObservation) -> dict[str, Any]:
    sex_answer = parsed.answers.get(SEX_ASSIGNED_AT_BIRTH)
    if sex_answer not in SEX_ANSWERS:
        raise _problem(
            f"sex (LOINC {SEX_ASSIGNED_AT_BIRTH}, answer LA2-8 male or LA3-6 female) is required "
            "for the reference equations"
        )
    return {
        "sex": SEX_ANSWERS[sex_answer],
        "age_years": _value(parsed, AGE, "age", {"a": 1.0}),
        "height_cm": _value(parsed, BODY_HEIGHT, "body height", {"cm": 1.0, "m": 100.0}),
    }


def _validated(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise _problem(f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}") from None


def pulmonary_function(parsed: ParsedObservation) -> PulmonaryFunctionIn:
    litres = {"L": 1.0, "mL": 0.001}
    dlco_quantity = parsed.quantities.get(pft_loinc.DLCO)
    dlco_unit = "mL/min/mmHg"
    dlco = None
    if dlco_quantity is not None:
        if dlco_quantity.unit in ("mL/min/mm[Hg]", "mL/min/mmHg"):
            dlco = dlco_quantity.value
        elif dlco_quantity.unit == "mmol/min/kPa":
            dlco, dlco_unit = dlco_quantity.value, "mmol/min/kPa"
        else:
            raise _problem(
                f"DLCO (LOINC {pft_loinc.DLCO}) in {dlco_quantity.unit!r}: give it in "
                "'mL/min/mm[Hg]' or 'mmol/min/kPa'"
            )
    haemoglobin = parsed.quantities.get(HAEMOGLOBIN)
    if haemoglobin is not None and haemoglobin.unit not in ("g/dL", "g/L"):
        raise _problem(f"haemoglobin (LOINC {HAEMOGLOBIN}) must be in 'g/dL' or 'g/L'")
    fvc = _optional(parsed, pft_loinc.FVC, "FVC", litres)
    if fvc is None:
        fvc = _optional(parsed, pft_loinc.FVC_BY_SPIROMETRY, "FVC", litres)
    result: PulmonaryFunctionIn = _validated(
        PulmonaryFunctionIn,
        {
            "performed_at": parsed.effective,
            **_person(parsed),
            "fev1_l": _optional(parsed, pft_loinc.FEV1, "FEV1", litres),
            "fvc_l": fvc,
            "dlco": dlco,
            "dlco_unit": dlco_unit,
            "haemoglobin": None if haemoglobin is None else haemoglobin.value,
            "haemoglobin_unit": "g/dL" if haemoglobin is None else haemoglobin.unit,
        },
    )
    return result


def blood_gas(parsed: ParsedObservation) -> BloodGasIn:
    pressures = {"mm[Hg]": 1.0, "mmHg": 1.0, "kPa": kpa_to_mmhg(1.0)}
    fio2 = _value(parsed, blood_gas_loinc.FIO2, "FiO2", {"%": 0.01, "1": 1.0, "{ratio}": 1.0})
    flow = _optional(parsed, blood_gas_loinc.OXYGEN_FLOW, "O2 flow", {"L/min": 1.0})
    room_air = abs(fio2 - ROOM_AIR_FIO2) < 1e-9 and not flow
    result: BloodGasIn = _validated(
        BloodGasIn,
        {
            "performed_at": parsed.effective,
            "age_years": _optional(parsed, AGE, "age", {"a": 1.0}),
            "ph": _value(parsed, blood_gas_loinc.PH_ARTERIAL, "pH", {"[pH]": 1.0, "1": 1.0}),
            "pao2": _value(parsed, blood_gas_loinc.PAO2, "PaO2", pressures),
            "paco2": _value(parsed, blood_gas_loinc.PACO2, "PaCO2", pressures),
            "pressure_unit": "mm[Hg]",
            "hco3_mmol_l": _optional(
                parsed, blood_gas_loinc.HCO3_ARTERIAL, "HCO3", {"mmol/L": 1.0}
            ),
            "base_excess_mmol_l": _optional(
                parsed, blood_gas_loinc.BASE_EXCESS_ARTERIAL, "base excess", {"mmol/L": 1.0}
            ),
            "sao2_percent": _optional(parsed, blood_gas_loinc.SAO2, "SaO2", {"%": 1.0}),
            "fio2": fio2,
            "fio2_unit": "1",
            "oxygen_device": "room_air" if room_air else "other",
            "oxygen_flow_l_min": flow,
        },
    )
    return result


def walk_test(parsed: ParsedObservation) -> WalkTestIn:
    result: WalkTestIn = _validated(
        WalkTestIn,
        {
            "performed_at": parsed.effective,
            **_person(parsed),
            "weight_kg": _value(parsed, BODY_WEIGHT, "body weight", {"kg": 1.0}),
            "distance_m": _value(
                parsed, walk_loinc.SIX_MINUTE_WALK_DISTANCE, "6MWT distance", {"m": 1.0}
            ),
            "course_length_m": STANDARD_COURSE_M,
            "stops": 0,
        },
    )
    return result


def kind_of(parsed: ParsedObservation) -> str:
    if parsed.code in (pft_loinc.PFT_PANEL, pft_loinc.SPIROMETRY_PANEL):
        return "pft"
    if parsed.code == blood_gas_loinc.ARTERIAL_BLOOD_GAS_PANEL:
        return "blood_gas"
    if parsed.code == walk_loinc.SIX_MINUTE_WALK_DISTANCE:
        return "walk"
    raise _problem(
        f"LOINC {parsed.code} is not an outcome this service records; send a PFT panel "
        f"({pft_loinc.PFT_PANEL}), a spirometry panel ({pft_loinc.SPIROMETRY_PANEL}), an "
        f"arterial blood gas panel ({blood_gas_loinc.ARTERIAL_BLOOD_GAS_PANEL}) or a 6MWT "
        f"distance ({walk_loinc.SIX_MINUTE_WALK_DISTANCE})"
    )
