"""Reading one FHIR R4 Observation into the facts lab grading needs, naming what is missing.

Identity follows `doseline.fhir.identity` (id, else fullUrl, else content hash; versionId, else
lastUpdated, else content hash). The subject is `subject.identifier` or a reference to a Patient.
The time is the Observation's own effective[x] (dateTime — a date alone is a site calendar day —
instant, or a period's start), else the time of the DiagnosticReport or panel it belongs to
(`Fallback`), else its own `issued`. The reference range is the first one that is the normal
range (no `type`, or type `normal`) and gives a number.

The clinical facts a CTCAE criterion reads come with the result: components, or contained
Observations the result names in `hasMember`, coded in `urn:doseline:ctcae-fact` with the fact's
name (`symptomatic`, `mi_level`, …, as POST /v1/grading/lab takes them) and a valueBoolean or
valueQuantity; `effectivePeriod` gives the collection period of a urine output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from doseline.fhir import identity
from doseline.fhir.bundles import contained_of
from doseline.fhir.identity import is_loinc

STUDY_SUBJECT_SYSTEM: Final = "urn:doseline:study-subject-id"
FACT_SYSTEM: Final = "urn:doseline:ctcae-fact"
# FHIR R4 ObservationStatus (a required binding).
OBSERVATION_STATUSES: Final = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
MAX_UNIT_LENGTH: Final = 40
# No laboratory quantity in CTCAE reaches 10^15 in any unit it is graded in.
MAX_MAGNITUDE: Final = 15


class EntryRejected(Exception):
    """An entry cannot be used; the message says why and names the missing fact."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class SubjectRef:
    """How the Observation names its subject: an identifier, or a reference to a Patient."""

    system: str | None = None
    value: str | None = None
    reference: str | None = None
    display: str = ""


@dataclass(frozen=True)
class Fallback:
    """The time of the DiagnosticReport or panel an Observation belongs to."""

    effective: datetime | date | None
    issued: datetime | None
    source: str


@dataclass(frozen=True)
class LabResult:
    """The parts of an Observation that grading needs."""

    observation_id: str
    version_id: str
    content_hash: str
    status: str
    subject: SubjectRef
    loinc_codes: tuple[str, ...]
    display: str
    categories: tuple[str, ...]
    value: Decimal | None
    unit: str | None
    value_problem: str | None
    """Why there is no usable number, when there is none (a text value, a comparator, …)."""
    low: Decimal | None
    high: Decimal | None
    range_unit: str | None
    effective: datetime | date | None
    effective_note: str | None
    facts: dict[str, Any] = field(default_factory=dict)
    collection_hours: Decimal | None = None
    members: tuple[str, ...] = ()
    contained: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe_code(self) -> str:
        code = self.loinc_codes[0] if self.loinc_codes else None
        shown = f"LOINC {code}" if code else "a code outside LOINC"
        return f"{shown} ({self.display})" if self.display else shown


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _validated(resource: dict[str, Any]) -> Observation:
    try:
        return Observation.model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        detail = f"not a valid FHIR R4 Observation: {where}: {first['msg']}"
        raise EntryRejected(detail[:400]) from None
    except (ValueError, TypeError) as error:
        raise EntryRejected(f"not a valid FHIR R4 Observation: {error}"[:400]) from None


def parse(
    resource: Any, *, full_url: str | None = None, fallback: Fallback | None = None
) -> LabResult:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        raise EntryRejected("the entry's resource is not a FHIR Observation")
    observation = _validated(resource)
    if str(observation.status) not in OBSERVATION_STATUSES:
        raise EntryRejected(
            f"not a valid FHIR R4 Observation: status {observation.status!r} is not one of "
            + ", ".join(sorted(OBSERVATION_STATUSES))
        )
    observation_id, version_id = identity.identity(resource, full_url=full_url)
    codings = observation.code.coding or []
    codes = tuple(str(c.code) for c in codings if is_loinc(c.system) and c.code)
    display = next(
        (str(c.display) for c in codings if is_loinc(c.system) and c.display),
        str(observation.code.text or ""),
    )
    value, unit, value_problem = _value(observation)
    low, high, range_unit = _normal_range(observation)
    effective, note, hours = _effective(observation, fallback)
    return LabResult(
        observation_id=observation_id,
        version_id=version_id,
        content_hash=identity.content_hash(resource),
        status=str(observation.status),
        subject=_subject(observation),
        loinc_codes=codes,
        display=display.strip()[:120],
        categories=tuple(
            str(coding.code)
            for category in observation.category or []
            for coding in category.coding or []
            if coding.code
        ),
        value=value,
        unit=unit,
        value_problem=value_problem,
        low=low,
        high=high,
        range_unit=range_unit,
        effective=effective,
        effective_note=note,
        facts=_facts(resource),
        collection_hours=hours,
        members=tuple(str(m.reference) for m in observation.hasMember or [] if m.reference),
        contained=contained_of(resource),
    )


def _value(observation: Observation) -> tuple[Decimal | None, str | None, str | None]:
    """The number and its unit, or why there is none."""
    quantity = observation.valueQuantity
    if quantity is None:
        absent = observation.dataAbsentReason
        if absent is not None:
            reason = absent.text or next((c.code for c in absent.coding or [] if c.code), "")
            return None, None, f"the value is absent (dataAbsentReason {reason!r})"
        if observation.valueString is not None:
            return (
                None,
                None,
                f"the value is a text ({observation.valueString[:40]!r}), not a number",
            )
        if observation.valueCodeableConcept is not None:
            return None, None, "the value is a coded answer, not a number"
        return None, None, None
    unit = str(quantity.code or quantity.unit or "").strip() or None
    if quantity.value is None:
        return None, unit, "Observation.valueQuantity has no value"
    if quantity.comparator is not None:
        return (
            None,
            unit,
            f"the value is a bound ({quantity.comparator} {quantity.value}), not a measurement",
        )
    return _decimal(quantity.value), unit, None


def _normal_range(observation: Observation) -> tuple[Decimal | None, Decimal | None, str | None]:
    for reference in observation.referenceRange or []:
        kinds = [c.code for c in (reference.type.coding or [])] if reference.type else []
        if kinds and "normal" not in kinds:
            continue
        low = _decimal(reference.low.value) if reference.low is not None else None
        high = _decimal(reference.high.value) if reference.high is not None else None
        if low is None and high is None:
            continue
        unit = None
        for bound in (reference.low, reference.high):
            if bound is not None and (bound.code or bound.unit):
                unit = str(bound.code or bound.unit)
                break
        return low, high, unit
    return None, None, None


def _effective(
    observation: Observation, fallback: Fallback | None
) -> tuple[datetime | date | None, str | None, Decimal | None]:
    """The time of the test, what it was taken from when not the Observation's own, and the
    length of a collection period in hours."""
    moment: Any = observation.effectiveDateTime or observation.effectiveInstant
    hours: Decimal | None = None
    note: str | None = None
    period = observation.effectivePeriod
    if moment is None and period is not None:
        moment = period.start or period.end
        if period.start is not None and period.end is not None:
            seconds = Decimal(str((period.end - period.start).total_seconds()))
            hours = round(seconds / 3600, 4)
    if moment is None and fallback is not None:
        moment = fallback.effective or fallback.issued
        if moment is not None:
            note = f"no effective[x]: the time of {fallback.source}"
    if moment is None and observation.issued is not None:
        moment = observation.issued
        note = "no effective[x]: the time the result was issued"
    if isinstance(moment, datetime | date) or moment is None:
        return moment, note, hours
    raise EntryRejected(f"Observation.effective[x] {moment!r} is not a date or a date and time")


def _subject(observation: Observation) -> SubjectRef:
    subject = observation.subject
    if subject is None:
        return SubjectRef()
    identifier = subject.identifier
    display = str(subject.display or "")
    if identifier is not None and identifier.system and identifier.value:
        return SubjectRef(system=str(identifier.system), value=str(identifier.value))
    return SubjectRef(
        reference=str(subject.reference) if subject.reference else None, display=display
    )


def _facts(resource: dict[str, Any]) -> dict[str, Any]:
    """Facts coded in FACT_SYSTEM: from components and from contained Observations in hasMember.

    Components and members in other code systems (a panel's LOINC parts) are not facts.
    """
    sources: list[tuple[str, Any]] = [
        (f"component[{index}]", component)
        for index, component in enumerate(resource.get("component") or [])
        if isinstance(component, dict)
    ]
    contained = contained_of(resource)
    for index, member in enumerate(resource.get("hasMember") or []):
        reference = member.get("reference") if isinstance(member, dict) else None
        if isinstance(reference, str) and reference in contained:
            sources.append((f"hasMember[{index}] ({reference})", contained[reference]))
    found: dict[str, Any] = {}
    for where, source in sources:
        codings = (source.get("code") or {}).get("coding") or []
        names = [
            c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == FACT_SYSTEM
        ]
        if not names:
            continue
        name = str(names[0])
        if "valueBoolean" in source:
            value: Any = source["valueBoolean"]
        elif "valueQuantity" in source:
            value = (source["valueQuantity"] or {}).get("value")
        else:
            value = source.get("valueInteger")
        if value is None:
            raise EntryRejected(f"{where}: fact {name!r} needs a valueBoolean or valueQuantity")
        if name in found:
            raise EntryRejected(f"{where}: fact {name!r} is given twice")
        found[name] = value
    for name in ("lln", "uln"):
        if name in found:
            raise EntryRejected(
                f"fact {name!r}: give the reference range in Observation.referenceRange"
            )
    return found


def check_magnitudes(result: LabResult) -> None:
    for name, number in (("value", result.value), ("low", result.low), ("high", result.high)):
        if number is not None and number.adjusted() > MAX_MAGNITUDE:
            raise EntryRejected(f"the {name} {number} is out of range for a laboratory result")
    if result.unit is not None and len(result.unit) > MAX_UNIT_LENGTH:
        raise EntryRejected(f"valueQuantity unit is longer than {MAX_UNIT_LENGTH} characters")
