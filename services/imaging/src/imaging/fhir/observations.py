"""Reading one FHIR R4 Observation into the request model of the outcome it carries.

Accepted (LOINC codes from OUTCOMES.md §6.1 and the PFT implementation guide's profiles;
validate against a LOINC release before go-live):
- Pulmonary function: a PFT panel 81458-2 or spirometry panel 81459-0 whose values are its
  components or its members (`hasMember`), or a single spirometry Observation: FEV1 20150-9
  (pre/post bronchodilator 20157-4 / 20155-8), FVC 19870-5 or 19868-9 (19876-2 / 19874-7),
  FEV1/FVC 19926-5 (% or ratio), DLCO 19911-7 (mL/min/mm[Hg] or mmol/min/kPa), in litres, or as
  % predicted: FEV1 20152-5, FVC 19872-1 (pre/post 19871-3 / 19873-9). Haemoglobin 718-7 (g/dL
  or g/L) corrects DLCO. The GLI reference equations need the person: body height 8302-2 (cm),
  age 30525-0 (a) and sex 76689-9 (LA2-8 male, LA3-6 female) as components, or the facts
  enrollment recorded at screening (a component given is checked against them). When neither
  gives any of the three the values are recorded as measured, with the laboratory's own %
  predicted where it sends one, and the result says which facts were missing; some of them
  without the rest is a 422 naming the missing ones.
- Arterial blood gas: `code` 24336-0 (arterial blood gas panel), values as components or members:
  pH 2744-1, PaO2 2703-7 and PaCO2 2019-8 (mm[Hg] or kPa), HCO3 1960-4, base excess 1925-7
  (mmol/L), SaO2 2708-6 (%), FiO2 3150-0 (% or fraction; required), O2 flow 3151-8 (L/min), age
  30525-0 optional. FHIR gives no barometric pressure here: sea level (760 mmHg) is assumed and
  the inputs say so.
- Six-minute walk: `code` 64098-7 with valueQuantity in m, components 29463-7 (kg) and, unless
  recorded at screening, 8302-2, 30525-0 and 76689-9. Course length and stops have no LOINC
  code: the site's course length (the protocol's `walk_course_length_m`, 30 m by default) is
  used and stops are recorded as not reported (0), both noted in the inputs.
The effective time is effectiveDateTime, effectiveInstant or effectivePeriod.start (else .end);
a date without a time is a site calendar day (placed by the service in the site's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from fhir.resources.R4B.observation import Observation
from pydantic import BaseModel, ValidationError

from doseline.errors import InvalidInput
from doseline.fhir.identity import identity, is_loinc
from imaging.assessments.schemas import BloodGasIn, PulmonaryFunctionIn, WalkTestIn
from imaging.blood_gas import loinc as blood_gas_loinc
from imaging.blood_gas.calculations import kpa_to_mmhg
from imaging.pft import loinc as pft_loinc
from imaging.problems import UNUSABLE_OBSERVATION
from imaging.walk import loinc as walk_loinc

STUDY_SUBJECT_SYSTEM = "urn:doseline:study-subject-id"
BODY_HEIGHT = "8302-2"
BODY_WEIGHT = "29463-7"
AGE = "30525-0"
SEX_ASSIGNED_AT_BIRTH = "76689-9"
HAEMOGLOBIN = "718-7"
SEX_ANSWERS = {"LA2-8": "male", "LA3-6": "female", "male": "male", "female": "female"}
RECORDED_STATUSES = frozenset({"final", "amended", "corrected"})
ROOM_AIR_FIO2 = 0.21

# Each spirometry value under the codes a laboratory may send it with, unspecified first: a
# panel with several takes the first present; the phase taken is noted.
FEV1_CODES: Final = (
    (pft_loinc.FEV1, None),
    (pft_loinc.FEV1_POST_BRONCHODILATOR, "post-bronchodilator"),
    (pft_loinc.FEV1_PRE_BRONCHODILATOR, "pre-bronchodilator"),
)
FVC_CODES: Final = (
    (pft_loinc.FVC, None),
    (pft_loinc.FVC_BY_SPIROMETRY, None),
    (pft_loinc.FVC_POST_BRONCHODILATOR, "post-bronchodilator"),
    (pft_loinc.FVC_PRE_BRONCHODILATOR, "pre-bronchodilator"),
)
FEV1_PERCENT_CODES: Final = ((pft_loinc.FEV1_PERCENT_PREDICTED, None),)
FVC_PERCENT_CODES: Final = (
    (pft_loinc.FVC_PERCENT_PREDICTED, None),
    (pft_loinc.FVC_POST_PERCENT_PREDICTED, "post-bronchodilator"),
    (pft_loinc.FVC_PRE_PERCENT_PREDICTED, "pre-bronchodilator"),
)
SPIROMETRY_CODES: Final = frozenset(
    code
    for codes in (FEV1_CODES, FVC_CODES, FEV1_PERCENT_CODES, FVC_PERCENT_CODES)
    for code, _ in codes
) | {pft_loinc.FEV1_FVC, pft_loinc.DLCO}
PFT_PANELS: Final = frozenset({pft_loinc.PFT_PANEL, pft_loinc.SPIROMETRY_PANEL})
RATIO_UNITS: Final = {"1": 1.0, "{ratio}": 1.0, "{Number}": 1.0, "%": 0.01}


def problem(message: str) -> InvalidInput:
    return InvalidInput(message, problem=UNUSABLE_OBSERVATION)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str


@dataclass(frozen=True)
class SubjectRef:
    """How the Observation names its subject: an identifier, or a reference to a Patient."""

    system: str | None = None
    value: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class ParsedObservation:
    observation_id: str
    version_id: str
    status: str
    subject: SubjectRef
    code: str
    effective: datetime | date | None
    """A date alone is a site calendar day; None when the Observation gives no time."""
    quantities: dict[str, Quantity] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    """hasMember references, as written."""
    contained: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Contained resources by their local reference ('#id')."""
    notes: tuple[str, ...] = ()


def loinc_code(concept: Any) -> str | None:
    for coding in getattr(concept, "coding", None) or []:
        if is_loinc(coding.system) and coding.code:
            return str(coding.code)
    return None


def _answer(concept: Any) -> str | None:
    for coding in getattr(concept, "coding", None) or []:
        if coding.code:
            return str(coding.code)
    return None


def _identity(
    payload: dict[str, Any], observation: Observation, full_url: str | None
) -> tuple[str, str]:
    """The Observation's id and version as its feed identifies them (doseline.fhir.identity)."""
    return identity(payload, full_url=full_url)


def _effective(observation: Observation) -> tuple[datetime | date | None, tuple[str, ...]]:
    moment: Any = observation.effectiveDateTime or observation.effectiveInstant
    notes: tuple[str, ...] = ()
    period = observation.effectivePeriod
    if moment is None and period is not None:
        moment = period.start or period.end
        notes = ("effectivePeriod: its start is the time of the test",) if period.start else ()
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise problem("Observation.effective[x] must carry its UTC offset when it has a time")
    if isinstance(moment, datetime | date) or moment is None:
        return moment, notes
    raise problem(f"Observation.effective[x] {moment!r} is not a date or a date and time")


def parse(payload: Any, *, full_url: str | None = None) -> ParsedObservation:
    if not isinstance(payload, dict) or payload.get("resourceType") != "Observation":
        raise problem("the body must be a FHIR R4 Observation (resourceType 'Observation')")
    try:
        observation = Observation.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise problem(f"not a valid FHIR R4 Observation: {where}: {first['msg']}"[:300]) from None
    observation_id, version_id = _identity(payload, observation, full_url)
    code = loinc_code(observation.code)
    if code is None:
        raise problem("Observation.code needs a LOINC coding (system http://loinc.org)")
    effective, notes = _effective(observation)
    quantities: dict[str, Quantity] = {}
    answers: dict[str, str] = {}

    def take(concept: Any, quantity: Any, codeable: Any) -> None:
        component_code = loinc_code(concept)
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
    contained = {
        f"#{item['id']}": item
        for item in payload.get("contained") or []
        if isinstance(item, dict) and item.get("id")
    }
    return ParsedObservation(
        observation_id=observation_id,
        version_id=version_id,
        status=str(observation.status),
        subject=_subject(observation),
        code=code,
        effective=effective,
        quantities=quantities,
        answers=answers,
        members=tuple(str(m.reference) for m in observation.hasMember or [] if m.reference),
        contained=contained,
        notes=notes,
    )


def _subject(observation: Observation) -> SubjectRef:
    subject = observation.subject
    identifier = subject.identifier if subject is not None else None
    if identifier is not None and identifier.system and identifier.value:
        return SubjectRef(system=str(identifier.system), value=str(identifier.value))
    if subject is not None and subject.reference:
        return SubjectRef(reference=str(subject.reference))
    raise problem(
        "Observation.subject is required: subject.identifier (system and value), or a reference "
        "to a Patient sent in the same Bundle or already matched"
    )


def with_members(parsed: ParsedObservation, members: list[ParsedObservation]) -> ParsedObservation:
    """The panel with its members' values added to its own (its own win where both give one)."""
    quantities: dict[str, Quantity] = {}
    answers: dict[str, str] = {}
    for member in members:
        quantities.update(member.quantities)
        answers.update(member.answers)
    quantities.update(parsed.quantities)
    answers.update(parsed.answers)
    effective = parsed.effective
    if effective is None:
        effective = next((m.effective for m in members if m.effective is not None), None)
    return ParsedObservation(
        observation_id=parsed.observation_id,
        version_id=parsed.version_id,
        status=parsed.status,
        subject=parsed.subject,
        code=parsed.code,
        effective=effective,
        quantities=quantities,
        answers=answers,
        members=parsed.members,
        contained=parsed.contained,
        notes=(*parsed.notes, f"values of {len(members)} member Observation(s) included"),
    )


def _value(parsed: ParsedObservation, code: str, name: str, units: dict[str, float]) -> float:
    found = _optional(parsed, code, name, units)
    if found is None:
        raise problem(f"{name} (LOINC {code}) is required")
    return found


def _optional(
    parsed: ParsedObservation, code: str, name: str, units: dict[str, float]
) -> float | None:
    quantity = parsed.quantities.get(code)
    if quantity is None:
        return None
    if quantity.unit not in units:
        raise problem(
            f"{name} (LOINC {code}) in {quantity.unit!r}: give it in one of "
            + ", ".join(repr(unit) for unit in units)
        )
    return quantity.value * units[quantity.unit]


def _first(
    parsed: ParsedObservation,
    codes: tuple[tuple[str, str | None], ...],
    name: str,
    units: dict[str, float],
) -> tuple[float | None, str | None]:
    """The first of the codes present, and the bronchodilator phase it stands for."""
    for code, phase in codes:
        value = _optional(parsed, code, name, units)
        if value is not None:
            return value, phase
    return None, None


@dataclass(frozen=True)
class GivenPerson:
    """Sex, age and height as the Observation's components give them (each may be absent)."""

    sex: str | None
    age_years: float | None
    height_cm: float | None


def person(parsed: ParsedObservation) -> GivenPerson:
    """Sex, age and height from the components; the service completes them with the facts
    recorded at screening."""
    sex_answer = parsed.answers.get(SEX_ASSIGNED_AT_BIRTH)
    if sex_answer is not None and sex_answer not in SEX_ANSWERS:
        raise problem(
            f"sex (LOINC {SEX_ASSIGNED_AT_BIRTH}) {sex_answer!r}: answer LA2-8 male or LA3-6 female"
        )
    return GivenPerson(
        sex=None if sex_answer is None else SEX_ANSWERS[sex_answer],
        age_years=_optional(parsed, AGE, "age", {"a": 1.0}),
        height_cm=_optional(parsed, BODY_HEIGHT, "body height", {"cm": 1.0, "m": 100.0}),
    )


def _validated(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise problem(f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}") from None


@dataclass(frozen=True)
class SpirometryValues:
    """What a pulmonary function Observation (single, panel, or panel with members) gives."""

    fev1_l: float | None
    fvc_l: float | None
    fev1_fvc: float | None
    dlco: float | None
    dlco_unit: str
    haemoglobin: Quantity | None
    fev1_percent_predicted: float | None
    fvc_percent_predicted: float | None
    phases: dict[str, str]
    """Value name → 'pre-bronchodilator' / 'post-bronchodilator' where the code says so."""

    @property
    def empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.fev1_l,
                self.fvc_l,
                self.fev1_fvc,
                self.dlco,
                self.fev1_percent_predicted,
                self.fvc_percent_predicted,
            )
        )


def spirometry_values(parsed: ParsedObservation) -> SpirometryValues:
    litres = {"L": 1.0, "mL": 0.001}
    percent = {"%": 1.0}
    fev1, fev1_phase = _first(parsed, FEV1_CODES, "FEV1", litres)
    fvc, fvc_phase = _first(parsed, FVC_CODES, "FVC", litres)
    fev1_pp, _ = _first(parsed, FEV1_PERCENT_CODES, "FEV1 % predicted", percent)
    fvc_pp, fvc_pp_phase = _first(parsed, FVC_PERCENT_CODES, "FVC % predicted", percent)
    ratio = _optional(parsed, pft_loinc.FEV1_FVC, "FEV1/FVC", RATIO_UNITS)
    if ratio is not None and not 0 < ratio <= 1:
        raise problem(
            f"FEV1/FVC (LOINC {pft_loinc.FEV1_FVC}) {ratio:g} is not a ratio between 0 and 1; "
            "send it in '%' or as a ratio"
        )
    dlco_quantity = parsed.quantities.get(pft_loinc.DLCO)
    dlco, dlco_unit = None, "mL/min/mmHg"
    if dlco_quantity is not None:
        if dlco_quantity.unit in ("mL/min/mm[Hg]", "mL/min/mmHg"):
            dlco = dlco_quantity.value
        elif dlco_quantity.unit == "mmol/min/kPa":
            dlco, dlco_unit = dlco_quantity.value, "mmol/min/kPa"
        else:
            raise problem(
                f"DLCO (LOINC {pft_loinc.DLCO}) in {dlco_quantity.unit!r}: give it in "
                "'mL/min/mm[Hg]' or 'mmol/min/kPa'"
            )
    haemoglobin = parsed.quantities.get(HAEMOGLOBIN)
    if haemoglobin is not None and haemoglobin.unit not in ("g/dL", "g/L"):
        raise problem(f"haemoglobin (LOINC {HAEMOGLOBIN}) must be in 'g/dL' or 'g/L'")
    phases = {
        name: phase
        for name, phase in (
            ("fev1", fev1_phase),
            ("fvc", fvc_phase),
            ("fvc_percent_predicted", fvc_pp_phase),
        )
        if phase is not None
    }
    return SpirometryValues(
        fev1_l=fev1,
        fvc_l=fvc,
        fev1_fvc=ratio,
        dlco=dlco,
        dlco_unit=dlco_unit,
        haemoglobin=haemoglobin,
        fev1_percent_predicted=fev1_pp,
        fvc_percent_predicted=fvc_pp,
        phases=phases,
    )


def pulmonary_function(
    values: SpirometryValues, who: GivenPerson, performed_at: datetime
) -> PulmonaryFunctionIn:
    haemoglobin = values.haemoglobin
    result: PulmonaryFunctionIn = _validated(
        PulmonaryFunctionIn,
        {
            "performed_at": performed_at,
            "sex": who.sex,
            "age_years": who.age_years,
            "height_cm": who.height_cm,
            "fev1_l": values.fev1_l,
            "fvc_l": values.fvc_l,
            "dlco": values.dlco,
            "dlco_unit": values.dlco_unit,
            "haemoglobin": None if haemoglobin is None else haemoglobin.value,
            "haemoglobin_unit": "g/dL" if haemoglobin is None else haemoglobin.unit,
        },
    )
    return result


def blood_gas(parsed: ParsedObservation, performed_at: datetime) -> BloodGasIn:
    pressures = {"mm[Hg]": 1.0, "mmHg": 1.0, "kPa": kpa_to_mmhg(1.0)}
    fio2 = _value(parsed, blood_gas_loinc.FIO2, "FiO2", {"%": 0.01, "1": 1.0, "{ratio}": 1.0})
    flow = _optional(parsed, blood_gas_loinc.OXYGEN_FLOW, "O2 flow", {"L/min": 1.0})
    room_air = abs(fio2 - ROOM_AIR_FIO2) < 1e-9 and not flow
    result: BloodGasIn = _validated(
        BloodGasIn,
        {
            "performed_at": performed_at,
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


def walk_test(parsed: ParsedObservation, performed_at: datetime) -> WalkTestIn:
    who = person(parsed)
    result: WalkTestIn = _validated(
        WalkTestIn,
        {
            "performed_at": performed_at,
            "sex": who.sex,
            "age_years": who.age_years,
            "height_cm": who.height_cm,
            "weight_kg": _value(parsed, BODY_WEIGHT, "body weight", {"kg": 1.0}),
            "distance_m": _value(
                parsed, walk_loinc.SIX_MINUTE_WALK_DISTANCE, "6MWT distance", {"m": 1.0}
            ),
            "stops": 0,
        },
    )
    return result


def kind_of_code(code: str) -> str | None:
    """The outcome an Observation code carries; None when it is not one this service records."""
    if code in PFT_PANELS or code in SPIROMETRY_CODES:
        return "pft"
    if code == blood_gas_loinc.ARTERIAL_BLOOD_GAS_PANEL:
        return "blood_gas"
    if code == walk_loinc.SIX_MINUTE_WALK_DISTANCE:
        return "walk"
    return None


NOT_AN_OUTCOME = (
    "not an outcome this service records; it records PFT "
    f"({pft_loinc.PFT_PANEL}) and spirometry panels ({pft_loinc.SPIROMETRY_PANEL}), single "
    f"spirometry values (FEV1 {pft_loinc.FEV1}, FVC {pft_loinc.FVC_BY_SPIROMETRY}, FEV1/FVC "
    f"{pft_loinc.FEV1_FVC}, DLCO {pft_loinc.DLCO}, % predicted "
    f"{pft_loinc.FEV1_PERCENT_PREDICTED} / {pft_loinc.FVC_PERCENT_PREDICTED}), arterial blood "
    f"gas panels ({blood_gas_loinc.ARTERIAL_BLOOD_GAS_PANEL}) and 6MWT distances "
    f"({walk_loinc.SIX_MINUTE_WALK_DISTANCE})"
)


def kind_of(parsed: ParsedObservation) -> str:
    kind = kind_of_code(parsed.code)
    if kind is None:
        raise problem(f"LOINC {parsed.code} is {NOT_AN_OUTCOME}")
    return kind
