"""Grade a number (lab value, vital sign, PFT) against CTCAE v5.0, or say why it cannot be graded.

The thresholds are the data in `lab_criteria`; this module evaluates them. Grades are tried from
the most severe down and the first one whose criteria hold is the grade (admiral's order). Every
criterion is three-valued: it holds, it does not, or it cannot be told because an input is missing.

- A missing number (LLN, ULN, baseline, …) that could change the grade makes the result "not
  gradable", listing the grades still possible and the inputs needed — except that where the
  value alone decides a grade and a missing baseline could only raise it (QTc, ejection
  fraction, creatinine, fibrinogen …), that grade is given and `possible_grades` names the higher
  grades a baseline could give.
- Inputs that are not a measurement (no value, a negative or non-finite number, LLN above ULN, a
  unit that cannot measure the analyte) raise `LabInputError` naming the input: an error of the
  caller, not an ungradable value.
- A yes/no fact that is unknown is settled by worst case only where admiral does so for v5.0
  (symptoms for hypokalemia, hyponatremia, lipase and amylase; anticoagulation for INR;
  physiologic consequences for hyperuricemia); the assumption is named in the result. Any other
  unknown fact that could change the grade leaves it not gradable. Adult criteria apply unless
  the subject is said not to be an adult, and the result says so.
- NCI wording that no number can decide (transfusion indicated, life-threatening …) is never
  assigned; the result lists it for the grades above the one found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Final

from safety.grading import units as u
from safety.grading.lab_criteria import (
    CRITERIA,
    CTCAE_VERSION,
    Alternative,
    Comparison,
    Direction,
    Exclusion,
    Fact,
    LabCriteria,
    LabTerm,
    Measure,
    Op,
    Reference,
    Requirement,
)
from safety.grading.units import Unit, UnknownUnitError

__all__ = [
    "LAB_INPUT_TERMS",
    "LOINC_TO_TERM",
    "CriterionText",
    "LabContext",
    "LabGrade",
    "LabInputError",
    "LabTerm",
    "SupportedTerm",
    "UnknownLabTermError",
    "grade_lab",
    "resolve_lab_term",
    "supported_terms",
]

# LOINC codes the project's reference confirms (OUTCOMES.md §6.1, "validate … before go-live").
# CTCAE-LAB-GRADING.md gives no LOINC codes for the blood tests, so none is guessed here; the EHR
# intake maps other Observations by their CTCAE term. A code can feed two terms (pH: acidosis and
# alkalosis), hence the tuples.
LOINC_TO_TERM: Final[Mapping[str, tuple[LabTerm, ...]]] = MappingProxyType(
    {
        "20152-5": (LabTerm.FORCED_EXPIRATORY_VOLUME_DECREASED,),  # FEV1 measured/predicted
        "19911-7": (LabTerm.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,),  # DLCO
        "19913-3": (LabTerm.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,),  # DLCO, Hb-adjusted
        "2703-7": (LabTerm.HYPOXIA_ARTERIAL_PO2,),  # PaO2
        "59408-5": (LabTerm.HYPOXIA_OXYGEN_SATURATION,),  # SpO2 by pulse oximetry
        "2708-6": (LabTerm.HYPOXIA_OXYGEN_SATURATION,),  # SaO2
        "2744-1": (LabTerm.ACIDOSIS, LabTerm.ALKALOSIS),  # pH, arterial
    }
)

# admiral (ncictcaev5) settles these unknown facts by the worst case; so does this grader.
# Adults are the default population: the result names the assumption when it matters.
_DEFAULT_FACTS: Final[Mapping[Fact, bool]] = MappingProxyType({Fact.ADULT: True})

_FACT_WORDS: Final[Mapping[Fact, tuple[str, str]]] = MappingProxyType(
    {
        Fact.BASELINE_NORMAL: ("baseline was normal", "baseline was abnormal"),
        Fact.HAS_BASELINE: ("a baseline is known", "no baseline is known"),
        Fact.SYMPTOMATIC: ("symptomatic (signs or symptoms present)", "asymptomatic"),
        Fact.ON_ANTICOAGULATION: ("on anticoagulation", "not on anticoagulation"),
        Fact.PHYSIOLOGIC_CONSEQUENCES: (
            "with physiologic consequences",
            "without physiologic consequences",
        ),
        Fact.INTERVENTION_INITIATED: ("intervention initiated", "no intervention initiated"),
        Fact.AT_REST: ("measured at rest", "measured with exercise"),
        Fact.PULMONARY_SYMPTOMS: ("pulmonary symptoms present", "no pulmonary symptoms"),
        Fact.ADULT: ("adult criteria apply", "the subject is not an adult"),
        Fact.PREVIOUSLY_NORMAL: (
            "blood pressure previously within normal limits",
            "blood pressure previously not within normal limits",
        ),
        Fact.SUSTAINED_FEVER_OVER_ONE_HOUR: (
            "temperature ≥38 °C sustained for more than one hour",
            "temperature ≥38 °C not sustained for more than one hour",
        ),
        Fact.ABOVE_40_CELSIUS_OVER_24_HOURS: (
            "above 40.0 °C for more than 24 hours",
            "above 40.0 °C for 24 hours or less",
        ),
        Fact.AT_MYOCARDIAL_INFARCTION_LEVEL: (
            "at or above the assay's myocardial-infarction level",
            "below the assay's myocardial-infarction level",
        ),
        Fact.INTERVENTION_INDICATED: ("intervention indicated", "no intervention indicated"),
        Fact.HOSPITALIZATION_INDICATED: (
            "hospitalization indicated",
            "no hospitalization indicated",
        ),
    }
)

_MISSING_WORDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "lln": "LLN (lower limit of normal)",
        "uln": "ULN (upper limit of normal)",
        "baseline": "baseline value",
        "peak_temperature_celsius": "peak temperature (°C)",
        "collection_hours": "collection period (hours)",
    }
)

# CTCAE v5.0 Fever: grade 3 ">40.0 degrees C ... for <=24 hrs", grade 4 "... for >24 hrs".
_FEVER_GRADE_4_HOURS: Final = Decimal(24)

_PERCENT_MEASURES: Final = frozenset(
    {Measure.PERCENT_DECREASE_FROM_BASELINE, Measure.PERCENT_INCREASE_FROM_BASELINE}
)


class UnknownLabTermError(ValueError):
    """The name or code does not identify exactly one gradable measurement."""

    field = "term"


class LabInputError(ValueError):
    """An input is not a measurement that can be graded; `field` names it (`value`, `uln`, …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LabContext:
    """Facts and numbers beyond the value that some thresholds need; None means not known.

    `mi_level` is in the value's unit; temperatures are °C; durations are hours.
    """

    symptomatic: bool | None = None
    on_anticoagulation: bool | None = None
    physiologic_consequences: bool | None = None
    intervention_initiated: bool | None = None
    at_rest: bool | None = None
    pulmonary_symptoms: bool | None = None
    adult: bool | None = None
    previously_normal: bool | None = None
    sustained_fever_over_one_hour: bool | None = None
    peak_temperature_celsius: Decimal | None = None
    hours_above_40_celsius: Decimal | None = None
    collection_hours: Decimal | None = None
    mi_level: Decimal | None = None
    intervention_indicated: bool | None = None
    hospitalization_indicated: bool | None = None


@dataclass(frozen=True)
class CriterionText:
    """NCI wording of a grade that a number cannot decide (for the investigator)."""

    grade: int
    text: str


@dataclass(frozen=True)
class LabGrade:
    """The grade of one measurement, or why it is not gradable.

    `grade` is 0 when the value meets no grade of the term, None when it cannot be graded; then
    `possible_grades` lists what the missing inputs (`missing`) would decide between. A grade
    given with `possible_grades` is the value's own grade, which the missing baseline could only
    raise to the higher grades listed.
    """

    term: LabTerm
    ctcae_term: str
    meddra_code: str
    value: Decimal
    unit: str
    grade: int | None
    reason: str
    ctcae_version: str = CTCAE_VERSION
    matched: str | None = None
    assumptions: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    possible_grades: tuple[int, ...] = ()
    clinical_criteria: tuple[CriterionText, ...] = ()


@dataclass(frozen=True)
class SupportedTerm:
    """A measurement the grader supports, for an API listing."""

    term: LabTerm
    ctcae_term: str
    meddra_code: str
    measurement: str
    units: tuple[str, ...]
    defined_grades: tuple[int, ...]
    loinc_codes: tuple[str, ...]
    notes: tuple[str, ...]


def supported_terms() -> tuple[SupportedTerm, ...]:
    """Every gradable measurement with its CTCAE term, units and LOINC codes."""
    return tuple(
        SupportedTerm(
            term=criteria.term,
            ctcae_term=criteria.ctcae_term,
            meddra_code=criteria.meddra_code,
            measurement=criteria.measurement,
            units=tuple(unit.code for unit in criteria.units),
            defined_grades=criteria.defined_grades,
            loinc_codes=tuple(
                code for code, terms in LOINC_TO_TERM.items() if criteria.term in terms
            ),
            notes=criteria.notes,
        )
        for criteria in CRITERIA.values()
    )


def resolve_lab_term(term: LabTerm | str) -> LabTerm:
    """A LabTerm from itself, its value, a CTCAE term name or a MedDRA code, if unambiguous."""
    if isinstance(term, LabTerm):
        return term
    text = term.strip()
    try:
        return LabTerm(text)
    except ValueError:
        pass
    matches = [
        criteria.term
        for criteria in CRITERIA.values()
        if text.casefold() == criteria.ctcae_term.casefold() or text == criteria.meddra_code
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        options = ", ".join(f"{m.value} ({CRITERIA[m].measurement})" for m in matches)
        raise UnknownLabTermError(f"{term!r} is graded per measurement; choose one of: {options}")
    raise UnknownLabTermError(f"{term!r} is not a CTCAE v{CTCAE_VERSION} term graded from numbers")


class _Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class _Inputs:
    """All inputs in the working unit (the value's unit, or mmol/L for mEq/L electrolytes)."""

    value: Decimal
    unit: Unit
    lln: Decimal | None
    uln: Decimal | None
    baseline: Decimal | None
    peak_temperature_celsius: Decimal | None
    collection_hours: Decimal | None
    facts: Mapping[Fact, bool | None]


@dataclass(frozen=True)
class _Check:
    truth: _Truth
    missing: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Pass:
    """The outcome of one top-down pass with every yes/no fact settled."""

    floor: int
    candidates: frozenset[int]
    missing: frozenset[str]
    matched: Alternative | None
    excluded: Exclusion | None = None
    maybe_excluded: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[object, ...]:
        excluded = self.excluded.reason if self.excluded else None
        return (excluded, self.floor, self.candidates, self.maybe_excluded)


def _measure(measure: Measure, inputs: _Inputs) -> tuple[Decimal | None, str | None]:
    """The measured quantity and, when it cannot be computed, the missing input's name."""
    value, baseline = inputs.value, inputs.baseline
    match measure:
        case Measure.VALUE:
            return value, None
        case Measure.INCREASE_OVER_ULN:
            return (None, "uln") if inputs.uln is None else (value - inputs.uln, None)
        case Measure.DECREASE_BELOW_LLN:
            return (None, "lln") if inputs.lln is None else (inputs.lln - value, None)
        case Measure.INCREASE_OVER_BASELINE:
            return (None, "baseline") if baseline is None else (value - baseline, None)
        case Measure.DECREASE_FROM_BASELINE:
            return (None, "baseline") if baseline is None else (baseline - value, None)
        case Measure.PERCENT_DECREASE_FROM_BASELINE:
            if baseline is None:
                return None, "baseline"
            return (baseline - value) * 100 / baseline, None
        case Measure.PERCENT_INCREASE_FROM_BASELINE:
            if baseline is None:
                return None, "baseline"
            return (value - baseline) * 100 / baseline, None
        case Measure.PEAK_TEMPERATURE_CELSIUS:
            return inputs.peak_temperature_celsius, (
                "peak_temperature_celsius" if inputs.peak_temperature_celsius is None else None
            )
        case Measure.COLLECTION_HOURS:
            return inputs.collection_hours, (
                "collection_hours" if inputs.collection_hours is None else None
            )


def _reference(reference: Reference, inputs: _Inputs) -> tuple[Decimal | None, str | None]:
    match reference:
        case Reference.NUMBER:
            return Decimal(1), None
        case Reference.LLN:
            return inputs.lln, "lln"
        case Reference.ULN:
            return inputs.uln, "uln"
        case Reference.BASELINE:
            return inputs.baseline, "baseline"


def _holds(left: Decimal, op: Op, right: Decimal) -> bool:
    match op:
        case Op.GT:
            return left > right
        case Op.GE:
            return left >= right
        case Op.LT:
            return left < right
        case Op.LE:
            return left <= right
        case Op.EQ:
            return left == right
        case Op.NE:
            return left != right


def _compare(comparison: Comparison, unit: Unit | None, inputs: _Inputs) -> _Check:
    quantity, missing = _measure(comparison.measure, inputs)
    if quantity is None:
        return _Check(_Truth.UNKNOWN, frozenset({missing or comparison.measure.value}))
    reference, reference_name = _reference(comparison.reference, inputs)
    if reference is None:
        return _Check(_Truth.UNKNOWN, frozenset({reference_name or comparison.reference.value}))
    if comparison.reference is Reference.NUMBER and comparison.measure.in_value_unit:
        if unit is None:
            raise ValueError(f"threshold {comparison} has no unit")
        if comparison.measure is Measure.VALUE:
            quantity = u.convert(quantity, inputs.unit, unit)
        else:
            quantity = u.convert_difference(quantity, inputs.unit, unit)
    threshold = comparison.factor * reference
    return _Check(_Truth.TRUE if _holds(quantity, comparison.op, threshold) else _Truth.FALSE)


def _check_all(
    comparisons: Iterable[Comparison],
    requirements: Iterable[Requirement],
    unit: Unit | None,
    inputs: _Inputs,
) -> _Check | None:
    """All comparisons and requirements together; None when written in another unit system."""
    if unit is not None and unit.dimension is not inputs.unit.dimension:
        return None
    checks = [_compare(c, unit, inputs) for c in comparisons]
    for requirement in requirements:
        known = inputs.facts.get(requirement.fact)
        if known is None:
            checks.append(_Check(_Truth.UNKNOWN, frozenset({requirement.fact.value})))
        else:
            checks.append(_Check(_Truth.TRUE if known is requirement.value else _Truth.FALSE))
    if any(check.truth is _Truth.FALSE for check in checks):
        return _Check(_Truth.FALSE)
    missing = frozenset().union(*(check.missing for check in checks))
    return _Check(_Truth.UNKNOWN, missing) if missing else _Check(_Truth.TRUE)


def _one_pass(criteria: LabCriteria, inputs: _Inputs, blind: frozenset[str] = frozenset()) -> _Pass:
    """Grades from the most severe down; arms that only the `blind` inputs could decide are
    passed over (the value's own grade when the baseline is missing)."""
    maybe_excluded: set[str] = set()
    for exclusion in criteria.exclusions:
        check = _check_all(exclusion.comparisons, exclusion.requirements, exclusion.unit, inputs)
        if check is None:
            continue
        if check.truth is _Truth.TRUE:
            return _Pass(0, frozenset(), frozenset(), None, excluded=exclusion)
        if check.truth is _Truth.UNKNOWN:
            maybe_excluded |= check.missing
    candidates: set[int] = set()
    missing: set[str] = set()
    for rule in reversed(criteria.grades):
        unknown: set[str] = set()
        for alternative in rule.alternatives:
            check = _check_all(
                alternative.comparisons, alternative.requirements, alternative.unit, inputs
            )
            if check is None or check.truth is _Truth.FALSE:
                continue
            if check.truth is _Truth.UNKNOWN and blind and check.missing <= blind:
                continue
            if check.truth is _Truth.TRUE:
                candidates.add(rule.grade)
                return _Pass(
                    rule.grade,
                    frozenset(candidates),
                    frozenset(missing),
                    alternative,
                    maybe_excluded=frozenset(maybe_excluded),
                )
            unknown |= check.missing
        if unknown:
            candidates.add(rule.grade)
            missing |= unknown
    candidates.add(0)
    return _Pass(
        0, frozenset(candidates), frozenset(missing), None, maybe_excluded=frozenset(maybe_excluded)
    )


def _referenced_facts(criteria: LabCriteria) -> set[Fact]:
    requirements = [
        requirement
        for rule in criteria.grades
        for alternative in rule.alternatives
        for requirement in alternative.requirements
    ] + [requirement for exclusion in criteria.exclusions for requirement in exclusion.requirements]
    return {requirement.fact for requirement in requirements}


def _format(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _not_gradable(
    criteria: LabCriteria,
    value: Decimal,
    unit: str,
    reason: str,
    *,
    assumptions: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
    possible_grades: tuple[int, ...] = (),
) -> LabGrade:
    return LabGrade(
        term=criteria.term,
        ctcae_term=criteria.ctcae_term,
        meddra_code=criteria.meddra_code,
        value=value,
        unit=unit,
        grade=None,
        reason=f"not gradable: {reason}",
        assumptions=assumptions,
        missing=missing,
        possible_grades=possible_grades,
        clinical_criteria=_clinical_above(criteria, min(possible_grades, default=0)),
    )


def _working_inputs(
    criteria: LabCriteria,
    value: Decimal,
    unit: Unit,
    *,
    lln: Decimal | None,
    uln: Decimal | None,
    baseline: Decimal | None,
    context: LabContext,
    facts: Mapping[Fact, bool | None],
) -> _Inputs:
    """Inputs in the unit the thresholds can be compared in (mEq/L → mmol/L by valence)."""
    working_unit, divisor = unit, Decimal(1)
    if unit.dimension is u.Dimension.EQUIVALENT_CONCENTRATION and criteria.valence:
        working_unit, divisor = u.MILLIMOLE_PER_LITRE, Decimal(criteria.valence)
    molar = criteria.molar_mass is not None and unit.dimension is u.Dimension.MASS_CONCENTRATION

    def working(number: Decimal) -> Decimal:
        if molar and criteria.molar_mass is not None:
            # mg/dL × 10 dL/L ÷ (g/mol) = mmol/L (calcium: mg/dL ÷ 4.008).
            in_mg_dl = u.convert(number, unit, u.MILLIGRAM_PER_DECILITRE)
            return in_mg_dl * 10 / criteria.molar_mass
        return number / divisor

    def scaled(number: Decimal | None) -> Decimal | None:
        return None if number is None else working(number)

    if molar:
        working_unit = u.MILLIMOLE_PER_LITRE

    return _Inputs(
        value=working(value),
        unit=working_unit,
        lln=scaled(lln),
        uln=scaled(uln),
        baseline=scaled(baseline),
        peak_temperature_celsius=context.peak_temperature_celsius,
        collection_hours=context.collection_hours,
        facts=facts,
    )


def _check_inputs(
    criteria: LabCriteria,
    value: Decimal,
    *,
    lln: Decimal | None,
    uln: Decimal | None,
    baseline: Decimal | None,
    context: LabContext,
) -> None:
    numbers = {
        "value": value,
        "lln": lln,
        "uln": uln,
        "baseline": baseline,
        "mi_level": context.mi_level,
        "peak_temperature_celsius": context.peak_temperature_celsius,
        "hours_above_40_celsius": context.hours_above_40_celsius,
        "collection_hours": context.collection_hours,
    }
    for name, number in numbers.items():
        if number is None:
            continue
        if not isinstance(number, Decimal):
            # A float has already lost the laboratory's decimal digits (0.1 + 0.2 != 0.3).
            raise LabInputError(name, f"{number!r} is not a Decimal; pass Decimal('{number}')")
        if not number.is_finite() or number < 0:
            raise LabInputError(
                name, f"{number} is not a measured quantity (negative or not finite)"
            )
    if lln is not None and uln is not None and lln > uln:
        raise LabInputError("lln", f"LLN {lln} is above ULN {uln}")
    uses_percent = any(
        comparison.measure in _PERCENT_MEASURES
        for rule in criteria.grades
        for alternative in rule.alternatives
        for comparison in alternative.comparisons
    )
    if uses_percent and baseline is not None and baseline == 0:
        raise LabInputError("baseline", "a percentage change from a baseline of 0 is undefined")
    if criteria.term is LabTerm.PROTEINURIA_DIPSTICK and (
        value != value.to_integral() or value > 4
    ):
        raise LabInputError("value", f"a dipstick reads 0 to 4 plus signs, not {value}")


def _derive_baseline_normal(
    criteria: LabCriteria,
    baseline: Decimal | None,
    lln: Decimal | None,
    uln: Decimal | None,
    unit: str,
) -> tuple[bool | None, str | None]:
    """Whether the baseline was normal, judged against today's reference range when not given."""
    if baseline is None:
        return None, None
    if criteria.direction is Direction.HIGH and uln is not None:
        normal = baseline <= uln
        relation = f"{'≤' if normal else '>'} ULN {_format(uln)}"
    elif criteria.direction is Direction.LOW and lln is not None:
        normal = baseline >= lln
        relation = f"{'≥' if normal else '<'} LLN {_format(lln)}"
    else:
        return None, None
    words = "normal" if normal else "abnormal"
    return normal, f"baseline {_format(baseline)} {unit} taken as {words} ({relation})"


def _given_facts(
    criteria: LabCriteria,
    value: Decimal,
    unit: str,
    *,
    referenced: set[Fact],
    lln: Decimal | None,
    uln: Decimal | None,
    baseline: Decimal | None,
    baseline_normal: bool | None,
    context: LabContext,
) -> tuple[dict[Fact, bool | None], list[str]]:
    """Every yes/no fact as given (None = unknown), and the derivations said aloud."""
    assumptions: list[str] = []
    given: dict[Fact, bool | None] = {
        Fact.BASELINE_NORMAL: baseline_normal,
        Fact.HAS_BASELINE: baseline is not None,
        Fact.SYMPTOMATIC: context.symptomatic,
        Fact.ON_ANTICOAGULATION: context.on_anticoagulation,
        Fact.PHYSIOLOGIC_CONSEQUENCES: context.physiologic_consequences,
        Fact.INTERVENTION_INITIATED: context.intervention_initiated,
        Fact.AT_REST: context.at_rest,
        Fact.PULMONARY_SYMPTOMS: context.pulmonary_symptoms,
        Fact.ADULT: context.adult,
        Fact.PREVIOUSLY_NORMAL: context.previously_normal,
        Fact.SUSTAINED_FEVER_OVER_ONE_HOUR: context.sustained_fever_over_one_hour,
        Fact.ABOVE_40_CELSIUS_OVER_24_HOURS: (
            None
            if context.hours_above_40_celsius is None
            else context.hours_above_40_celsius > _FEVER_GRADE_4_HOURS
        ),
        Fact.AT_MYOCARDIAL_INFARCTION_LEVEL: (
            None if context.mi_level is None else value >= context.mi_level
        ),
        Fact.INTERVENTION_INDICATED: context.intervention_indicated,
        Fact.HOSPITALIZATION_INDICATED: context.hospitalization_indicated,
    }
    # A clinical arm that is not stated is not met; nothing is assumed about it.
    for fact in criteria.stated_only:
        if given[fact] is None:
            given[fact] = False
    if Fact.BASELINE_NORMAL in referenced and baseline_normal is None:
        derived, words = _derive_baseline_normal(criteria, baseline, lln, uln, unit)
        if derived is not None and words is not None:
            given[Fact.BASELINE_NORMAL] = derived
            assumptions.append(words)
    return given, assumptions


def _parsed_unit(criteria: LabCriteria, value: Decimal | None, unit: str | None) -> Unit:
    """The value's unit, if there is a value and its unit can measure the term's analyte."""
    if value is None:
        raise LabInputError("value", f"the {criteria.measurement} value is required")
    if unit is None:
        raise LabInputError("unit", f"the unit of the {criteria.measurement} value is required")
    accepted = ", ".join(str(accepted) for accepted in criteria.units)
    try:
        parsed = u.parse_unit(unit)
    except UnknownUnitError as error:
        raise LabInputError(
            "unit", f"{error}; {criteria.measurement} is graded in {accepted}"
        ) from None
    if parsed not in criteria.units:
        raise LabInputError(
            "unit",
            f"{unit!r} cannot measure {criteria.measurement}; it is graded in {accepted}",
        )
    return parsed


def grade_lab(
    term: LabTerm | str,
    value: Decimal | None = None,
    unit: str | None = None,
    *,
    lln: Decimal | None = None,
    uln: Decimal | None = None,
    baseline: Decimal | None = None,
    baseline_normal: bool | None = None,
    context: LabContext | None = None,
) -> LabGrade:
    """The CTCAE v5.0 grade of `value` (in `unit`) for `term`.

    LLN, ULN, baseline and `context.mi_level` are in the same unit as the value. `baseline` is the
    subject's pre-treatment value of the same test; `baseline_normal` the laboratory's flag for it
    (derived from the baseline and the reference range when not given, and said so).

    Raises `UnknownLabTermError` for a term that is not graded from numbers and `LabInputError`
    (naming the input) for inputs that are not a measurement of the term.
    """
    criteria = CRITERIA[resolve_lab_term(term)]
    context = context or LabContext()
    parsed = _parsed_unit(criteria, value, unit)
    if value is None or unit is None:
        raise AssertionError("_parsed_unit refuses a missing value or unit")
    _check_inputs(criteria, value, lln=lln, uln=uln, baseline=baseline, context=context)

    referenced = _referenced_facts(criteria)
    given, assumptions = _given_facts(
        criteria,
        value,
        unit,
        referenced=referenced,
        lln=lln,
        uln=uln,
        baseline=baseline,
        baseline_normal=baseline_normal,
        context=context,
    )
    inputs = _working_inputs(
        criteria, value, parsed, lln=lln, uln=uln, baseline=baseline, context=context, facts=given
    )
    unknown = sorted(fact for fact in referenced if given[fact] is None)
    settled = [f for f in unknown if f in criteria.worst_case or f in _DEFAULT_FACTS]
    ways = _Ways(
        criteria, inputs, given, settled, open_facts=[f for f in unknown if f not in settled]
    )
    run = ways.runner(frozenset())
    outcomes = ways.every_way(run)
    passes = [outcome for outcome, _ in outcomes]
    agreed = all(p.key == passes[0].key for p in passes)

    if agreed:
        first, chosen = outcomes[0]
        assumptions += ways.named_assumptions(run, first, chosen)
        if first.excluded is not None:
            return _not_gradable(
                criteria, value, unit, first.excluded.reason, assumptions=tuple(assumptions)
            )
        if not first.missing and not first.maybe_excluded:
            return _graded(criteria, value, unit, first, tuple(assumptions))

    possible = sorted(frozenset().union(*(p.candidates for p in passes if p.excluded is None)))
    if baseline is None and _has_value_alone_arm(criteria):
        alone = _value_alone(ways, value, unit, possible, tuple(assumptions))
        if alone is not None:
            return alone
    return _undecided(
        criteria, value, unit, passes, [] if agreed else ways.open_facts, possible, assumptions
    )


@dataclass(frozen=True)
class _Ways:
    """Grading once for every way the open facts could be answered, settling the other unknown
    facts by worst case (or the default population) each time; the grade is known only if all
    ways agree."""

    criteria: LabCriteria
    inputs: _Inputs
    given: Mapping[Fact, bool | None]
    settled: list[Fact]
    open_facts: list[Fact]

    def runner(self, blind: frozenset[str]) -> _Runner:
        def run(assignment: Mapping[Fact, bool]) -> _Pass:
            facts = {**self.given, **assignment}
            return _one_pass(self.criteria, replace(self.inputs, facts=facts), blind)

        return run

    def every_way(self, run: _Runner) -> list[tuple[_Pass, dict[Fact, bool]]]:
        return [
            _settle(self.settled, dict(zip(self.open_facts, answers, strict=True)), run)
            for answers in itertools.product((True, False), repeat=len(self.open_facts))
        ]

    def named_assumptions(self, run: _Runner, first: _Pass, chosen: dict[Fact, bool]) -> list[str]:
        open_assignment = dict(zip(self.open_facts, (True,) * len(self.open_facts), strict=True))
        return [
            _assumption_words(fact, assumed, self.criteria)
            for fact, assumed in chosen.items()
            if run({**open_assignment, **chosen, fact: not assumed}).key != first.key
        ]


def _value_alone(
    ways: _Ways, value: Decimal, unit: str, possible: list[int], assumptions: tuple[str, ...]
) -> LabGrade | None:
    """The value's own grade, which a baseline could only raise; None when it is not decided."""
    blind_run = ways.runner(_BASELINE_INPUTS)
    blind_outcomes = ways.every_way(blind_run)
    blind_first, blind_chosen = blind_outcomes[0]
    decided = (
        all(p.key == blind_first.key for p, _ in blind_outcomes)
        and blind_first.excluded is None
        and not blind_first.missing
        and not blind_first.maybe_excluded
        and not _needs_baseline(blind_first.matched)
        and all(g >= blind_first.floor for g in possible)
    )
    if not decided:
        return None
    higher = tuple(g for g in possible if g > blind_first.floor)
    graded = _graded(
        ways.criteria,
        value,
        unit,
        blind_first,
        (*assumptions, *ways.named_assumptions(blind_run, blind_first, blind_chosen)),
    )
    if not higher:
        return graded
    arms = _baseline_arms(ways.criteria, higher)
    return replace(
        graded,
        reason=f"{graded.reason}; a baseline value could make it grade "
        f"{' or '.join(str(g) for g in higher)} ({'; '.join(arms)})",
        missing=("baseline",),
        possible_grades=(blind_first.floor, *higher),
    )


def _undecided(
    criteria: LabCriteria,
    value: Decimal,
    unit: str,
    passes: list[_Pass],
    mattering_facts: list[Fact],
    possible: list[int],
    assumptions: list[str],
) -> LabGrade:
    """Not gradable yet: the grades it could be and what would decide between them."""
    missing_numbers = frozenset().union(*(p.missing | p.maybe_excluded for p in passes))
    needed = [_MISSING_WORDS.get(name, name) for name in sorted(missing_numbers)]
    needed += [_FACT_QUESTION[fact] for fact in mattering_facts]
    details = []
    if possible:
        details.append(f"could be grade {' or '.join(str(g) for g in possible)}")
    details.extend(sorted({p.excluded.reason for p in passes if p.excluded is not None}))
    details.append(f"needs {', '.join(needed)}")
    return _not_gradable(
        criteria,
        value,
        unit,
        "; ".join(details),
        assumptions=tuple(assumptions),
        missing=tuple(sorted(missing_numbers | {_fact_input(fact) for fact in mattering_facts})),
        possible_grades=tuple(possible),
    )


_FACT_QUESTION: Final[Mapping[Fact, str]] = MappingProxyType(
    {
        Fact.BASELINE_NORMAL: "whether the baseline was normal",
        Fact.HAS_BASELINE: "the baseline value",
        Fact.SYMPTOMATIC: "whether the subject is symptomatic",
        Fact.ON_ANTICOAGULATION: "whether the subject is on anticoagulation",
        Fact.PHYSIOLOGIC_CONSEQUENCES: "whether there are physiologic consequences",
        Fact.INTERVENTION_INITIATED: "whether an intervention was initiated",
        Fact.AT_REST: "whether the saturation was measured at rest or with exercise",
        Fact.PULMONARY_SYMPTOMS: "whether pulmonary symptoms are present",
        Fact.ADULT: "whether the subject is an adult",
        Fact.PREVIOUSLY_NORMAL: "whether blood pressure was previously within normal limits",
        Fact.SUSTAINED_FEVER_OVER_ONE_HOUR: (
            "whether a temperature ≥38 °C was sustained for more than one hour"
        ),
        Fact.ABOVE_40_CELSIUS_OVER_24_HOURS: "how many hours the temperature was above 40.0 °C",
        Fact.AT_MYOCARDIAL_INFARCTION_LEVEL: "the assay's myocardial-infarction level",
        Fact.INTERVENTION_INDICATED: "whether an intervention is indicated",
        Fact.HOSPITALIZATION_INDICATED: "whether hospitalization is indicated",
    }
)

_Runner = Callable[[Mapping[Fact, bool]], _Pass]

# Inputs that say where the subject started: without them the value's own grade may still stand.
_BASELINE_INPUTS: Final = frozenset({"baseline"})
_BASELINE_FACTS: Final = frozenset({Fact.BASELINE_NORMAL, Fact.HAS_BASELINE})
_BASELINE_MEASURES: Final = frozenset(
    {
        Measure.INCREASE_OVER_BASELINE,
        Measure.DECREASE_FROM_BASELINE,
        Measure.PERCENT_DECREASE_FROM_BASELINE,
        Measure.PERCENT_INCREASE_FROM_BASELINE,
    }
)


def _needs_baseline(alternative: Alternative | None) -> bool:
    """Whether an arm compares with the baseline or applies only for a kind of baseline."""
    if alternative is None:
        return False
    return any(r.fact in _BASELINE_FACTS for r in alternative.requirements) or any(
        c.measure in _BASELINE_MEASURES or c.reference is Reference.BASELINE
        for c in alternative.comparisons
    )


def _has_value_alone_arm(criteria: LabCriteria) -> bool:
    """Whether some arm of the term grades without any baseline (QTc's ms arms, EF's % arms)."""
    return any(
        not _needs_baseline(alternative)
        for rule in criteria.grades
        for alternative in rule.alternatives
    )


def _baseline_arms(criteria: LabCriteria, grades: tuple[int, ...]) -> list[str]:
    return [
        f"grade {rule.grade}: '{alternative.text}'"
        for rule in criteria.grades
        if rule.grade in grades
        for alternative in rule.alternatives
        if _needs_baseline(alternative)
    ]


def _fact_input(fact: Fact) -> str:
    """The `grade_lab` / `LabContext` input that answers a fact."""
    return _FACT_INPUTS.get(fact, fact.value)


_FACT_INPUTS: Final[Mapping[Fact, str]] = MappingProxyType(
    {
        Fact.ABOVE_40_CELSIUS_OVER_24_HOURS: "hours_above_40_celsius",
        Fact.AT_MYOCARDIAL_INFARCTION_LEVEL: "mi_level",
    }
)


def _rank(outcome: _Pass) -> tuple[bool, int, int]:
    """Order of severity between passes: graded over excluded, then highest possible grade."""
    return (outcome.excluded is None, max(outcome.candidates, default=0), outcome.floor)


def _settle(
    settled: list[Fact], open_assignment: Mapping[Fact, bool], run: _Runner
) -> tuple[_Pass, dict[Fact, bool]]:
    """Values for the settled facts: defaults as given, worst-case facts by the highest grade."""
    defaults = {fact: _DEFAULT_FACTS[fact] for fact in settled if fact in _DEFAULT_FACTS}
    worst = [fact for fact in settled if fact not in _DEFAULT_FACTS]
    best: tuple[_Pass, dict[Fact, bool]] | None = None
    for values in itertools.product((True, False), repeat=len(worst)):
        assignment = {**defaults, **dict(zip(worst, values, strict=True))}
        outcome = run({**open_assignment, **assignment})
        if best is None or _rank(outcome) > _rank(best[0]):
            best = (outcome, assignment)
    if best is None:
        raise AssertionError("itertools.product always yields at least one assignment")
    return best


def _assumption_words(fact: Fact, value: bool, criteria: LabCriteria) -> str:
    yes_words, no_words = _FACT_WORDS[fact]
    words = yes_words if value else no_words
    if fact in _DEFAULT_FACTS:
        return f"assumed {words} (not stated)"
    return f"assumed {words}: not stated, worst case taken"


def _clinical_above(criteria: LabCriteria, grade: int) -> tuple[CriterionText, ...]:
    return tuple(
        CriterionText(rule.grade, text)
        for rule in criteria.grades
        if rule.grade > grade
        for text in rule.clinical
    )


def _graded(
    criteria: LabCriteria,
    value: Decimal,
    unit: str,
    outcome: _Pass,
    assumptions: tuple[str, ...],
) -> LabGrade:
    measured = f"{_format(value)} {unit}".strip()
    if outcome.matched is None:
        reason = f"{measured} meets no grade of CTCAE v{CTCAE_VERSION} {criteria.ctcae_term}"
    else:
        reason = (
            f"CTCAE v{CTCAE_VERSION} {criteria.ctcae_term} grade {outcome.floor}: "
            f"'{outcome.matched.text}' ({measured})"
        )
    if assumptions:
        reason += "; " + "; ".join(assumptions)
    return LabGrade(
        term=criteria.term,
        ctcae_term=criteria.ctcae_term,
        meddra_code=criteria.meddra_code,
        value=value,
        unit=unit,
        grade=outcome.floor,
        reason=reason,
        matched=None if outcome.matched is None else outcome.matched.text,
        assumptions=assumptions,
        clinical_criteria=_clinical_above(criteria, outcome.floor),
    )


# Which CTCAE terms each input of `grade_lab` / `LabContext` is read by (for the API's schema).
_INPUT_FACTS: Final[Mapping[str, Fact]] = MappingProxyType(
    {
        "baseline_normal": Fact.BASELINE_NORMAL,
        "symptomatic": Fact.SYMPTOMATIC,
        "on_anticoagulation": Fact.ON_ANTICOAGULATION,
        "physiologic_consequences": Fact.PHYSIOLOGIC_CONSEQUENCES,
        "intervention_initiated": Fact.INTERVENTION_INITIATED,
        "at_rest": Fact.AT_REST,
        "pulmonary_symptoms": Fact.PULMONARY_SYMPTOMS,
        "adult": Fact.ADULT,
        "previously_normal": Fact.PREVIOUSLY_NORMAL,
        "sustained_fever_over_one_hour": Fact.SUSTAINED_FEVER_OVER_ONE_HOUR,
        "hours_above_40_celsius": Fact.ABOVE_40_CELSIUS_OVER_24_HOURS,
        "mi_level": Fact.AT_MYOCARDIAL_INFARCTION_LEVEL,
        "intervention_indicated": Fact.INTERVENTION_INDICATED,
        "hospitalization_indicated": Fact.HOSPITALIZATION_INDICATED,
    }
)
_INPUT_MEASURES: Final[Mapping[str, frozenset[Measure]]] = MappingProxyType(
    {
        "lln": frozenset({Measure.DECREASE_BELOW_LLN}),
        "uln": frozenset({Measure.INCREASE_OVER_ULN}),
        "baseline": _BASELINE_MEASURES,
        "peak_temperature_celsius": frozenset({Measure.PEAK_TEMPERATURE_CELSIUS}),
        "collection_hours": frozenset({Measure.COLLECTION_HOURS}),
    }
)
_INPUT_REFERENCES: Final[Mapping[str, Reference]] = MappingProxyType(
    {"lln": Reference.LLN, "uln": Reference.ULN, "baseline": Reference.BASELINE}
)


def _reads(criteria: LabCriteria, name: str) -> bool:
    alternatives = [a for rule in criteria.grades for a in rule.alternatives]
    comparisons = [c for a in alternatives for c in a.comparisons] + [
        c for exclusion in criteria.exclusions for c in exclusion.comparisons
    ]
    if name in _INPUT_FACTS:
        return _INPUT_FACTS[name] in _referenced_facts(criteria)
    reference = _INPUT_REFERENCES.get(name)
    return any(
        c.measure in _INPUT_MEASURES[name] or (reference is not None and c.reference is reference)
        for c in comparisons
    )


LAB_INPUT_TERMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        name: tuple(
            sorted(
                {criteria.ctcae_term for criteria in CRITERIA.values() if _reads(criteria, name)}
            )
        )
        for name in (*_INPUT_MEASURES, *_INPUT_FACTS)
    }
)
