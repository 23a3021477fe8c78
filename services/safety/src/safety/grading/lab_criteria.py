"""CTCAE v5.0 numeric grade thresholds (labs, vitals, PFTs) as data: one record per measurement.

Every number below is the NCI cell of CTCAE v5.0 (27 Nov 2017, "CTCAE v5.0 Clean Copy"), quoted in
`text`; docs/reference/CTCAE-LAB-GRADING.md is the condensed table they were checked against.

Reading rules (CTCAE-LAB-GRADING.md, "Reading conventions"), applied uniformly:

- A semicolon means OR: each alternative of a grade is its own `Alternative`.
- "a – b" ranges: the bound shared with the less severe grade is exclusive (ALT G2 ">3.0 – 5.0 ×ULN"
  is 3× < x ≤ 5×; neutrophils G2 "<1500 – 1000" is 1000 ≤ x < 1500).
- Ranges printed in integer steps ("450 - 480 ms", "481 - 500 ms"; "3 - 5 units below LLN",
  ">5 - 8 units") are contiguous: a value between two printed bands belongs to the more severe
  one, with no gap and no overlap, and every arm of a term reads its bands the same way (QTc
  480.5 ms → the 481–500 grade; Hyponatremia 129.6 → the 125–129 grade, as v6.0 rewrote it
  "125 - <130"). At the edge facing normal values the printed number is inclusive (FEV1 "99 -
  70%" ends at 99%).
- Semicolon arms are alternatives: every arm that applies is evaluated and the most severe grade
  wins. An arm qualified "if baseline normal/abnormal" applies only then; an unqualified arm
  always applies (Fibrinogen decreased: the × LLN arm whatever the baseline).
- "-" grades do not exist and have no record; grade text the number cannot decide (life-threatening,
  transfusion indicated, hospitalization …) is kept in `clinical` so the result can name it.
- Conventional and SI thresholds are both kept as NCI wrote them; a value is compared with the
  thresholds written in its own dimension (mass, molar, count …), converted exactly within it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final

from safety.grading import units as u
from safety.grading.units import Unit

CTCAE_VERSION: Final = "5.0"


class LabTerm(StrEnum):
    """A gradable measurement: one CTCAE term, or one analyte of a term that has several."""

    ANEMIA = "anemia"
    NEUTROPHIL_COUNT_DECREASED = "neutrophil_count_decreased"
    PLATELET_COUNT_DECREASED = "platelet_count_decreased"
    WHITE_BLOOD_CELL_DECREASED = "white_blood_cell_decreased"
    LYMPHOCYTE_COUNT_DECREASED = "lymphocyte_count_decreased"
    LYMPHOCYTE_COUNT_INCREASED = "lymphocyte_count_increased"
    CD4_LYMPHOCYTES_DECREASED = "cd4_lymphocytes_decreased"
    LEUKOCYTOSIS = "leukocytosis"
    EOSINOPHILIA = "eosinophilia"
    HEMOGLOBIN_INCREASED = "hemoglobin_increased"
    FEBRILE_NEUTROPENIA = "febrile_neutropenia"
    ALANINE_AMINOTRANSFERASE_INCREASED = "alanine_aminotransferase_increased"
    ASPARTATE_AMINOTRANSFERASE_INCREASED = "aspartate_aminotransferase_increased"
    ALKALINE_PHOSPHATASE_INCREASED = "alkaline_phosphatase_increased"
    GGT_INCREASED = "ggt_increased"
    BLOOD_BILIRUBIN_INCREASED = "blood_bilirubin_increased"
    CREATININE_INCREASED = "creatinine_increased"
    CPK_INCREASED = "cpk_increased"
    LIPASE_INCREASED = "lipase_increased"
    SERUM_AMYLASE_INCREASED = "serum_amylase_increased"
    BLOOD_LACTATE_DEHYDROGENASE_INCREASED = "blood_lactate_dehydrogenase_increased"
    HAPTOGLOBIN_DECREASED = "haptoglobin_decreased"
    BLOOD_BICARBONATE_DECREASED = "blood_bicarbonate_decreased"
    HYPOALBUMINEMIA = "hypoalbuminemia"
    CHOLESTEROL_HIGH = "cholesterol_high"
    HYPERTRIGLYCERIDEMIA = "hypertriglyceridemia"
    CARDIAC_TROPONIN_I_INCREASED = "cardiac_troponin_i_increased"
    CARDIAC_TROPONIN_T_INCREASED = "cardiac_troponin_t_increased"
    ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED = "aptt_prolonged"
    INR_INCREASED = "inr_increased"
    FIBRINOGEN_DECREASED = "fibrinogen_decreased"
    HYPERKALEMIA = "hyperkalemia"
    HYPOKALEMIA = "hypokalemia"
    HYPERNATREMIA = "hypernatremia"
    HYPONATREMIA = "hyponatremia"
    HYPERCALCEMIA_CORRECTED_CALCIUM = "hypercalcemia_corrected_calcium"
    HYPERCALCEMIA_IONIZED_CALCIUM = "hypercalcemia_ionized_calcium"
    HYPOCALCEMIA_CORRECTED_CALCIUM = "hypocalcemia_corrected_calcium"
    HYPOCALCEMIA_IONIZED_CALCIUM = "hypocalcemia_ionized_calcium"
    HYPERMAGNESEMIA = "hypermagnesemia"
    HYPOMAGNESEMIA = "hypomagnesemia"
    HYPOGLYCEMIA = "hypoglycemia"
    HYPERURICEMIA = "hyperuricemia"
    ACIDOSIS = "acidosis"
    ALKALOSIS = "alkalosis"
    CHRONIC_KIDNEY_DISEASE = "chronic_kidney_disease"
    PROTEINURIA_DIPSTICK = "proteinuria_dipstick"
    PROTEINURIA_24_HOUR = "proteinuria_24_hour"
    URINE_OUTPUT_DECREASED = "urine_output_decreased"
    FEVER = "fever"
    HYPOTHERMIA = "hypothermia"
    HYPOXIA_OXYGEN_SATURATION = "hypoxia_oxygen_saturation"
    HYPOXIA_ARTERIAL_PO2 = "hypoxia_arterial_po2"
    HYPERTENSION_SYSTOLIC = "hypertension_systolic"
    HYPERTENSION_DIASTOLIC = "hypertension_diastolic"
    QTC_INTERVAL_PROLONGED = "qtc_interval_prolonged"
    EJECTION_FRACTION_DECREASED = "ejection_fraction_decreased"
    WEIGHT_LOSS = "weight_loss"
    WEIGHT_GAIN = "weight_gain"
    FORCED_EXPIRATORY_VOLUME_DECREASED = "fev1_decreased"
    CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED = "dlco_decreased"
    VITAL_CAPACITY_ABNORMAL = "vital_capacity_abnormal"
    CYTOKINE_RELEASE_SYNDROME_OXYGEN = "cytokine_release_syndrome_oxygen"


class Measure(Enum):
    """What a threshold is compared with. Differences are in the value's unit."""

    VALUE = "value"
    INCREASE_OVER_ULN = "value − ULN"
    INCREASE_OVER_BASELINE = "value − baseline"
    DECREASE_FROM_BASELINE = "baseline − value"
    DECREASE_BELOW_LLN = "LLN − value"
    PERCENT_DECREASE_FROM_BASELINE = "% decrease from baseline"
    PERCENT_INCREASE_FROM_BASELINE = "% increase from baseline"
    PEAK_TEMPERATURE_CELSIUS = "peak temperature (°C)"
    COLLECTION_HOURS = "collection period (hours)"

    @property
    def in_value_unit(self) -> bool:
        return self in _VALUE_UNIT_MEASURES


_VALUE_UNIT_MEASURES: Final = frozenset(
    {
        Measure.VALUE,
        Measure.INCREASE_OVER_ULN,
        Measure.INCREASE_OVER_BASELINE,
        Measure.DECREASE_FROM_BASELINE,
        Measure.DECREASE_BELOW_LLN,
    }
)


class Reference(Enum):
    """What a threshold's number multiplies: nothing (an absolute number) or a subject's value."""

    NUMBER = "number"
    LLN = "LLN"
    ULN = "ULN"
    BASELINE = "baseline"


class Op(Enum):
    GT = ">"
    GE = "≥"
    LT = "<"
    LE = "≤"
    EQ = "="
    NE = "≠"


class Fact(StrEnum):
    """Yes/no facts some thresholds depend on (None = not known)."""

    BASELINE_NORMAL = "baseline_normal"
    HAS_BASELINE = "has_baseline"
    SYMPTOMATIC = "symptomatic"
    ON_ANTICOAGULATION = "on_anticoagulation"
    PHYSIOLOGIC_CONSEQUENCES = "physiologic_consequences"
    INTERVENTION_INITIATED = "intervention_initiated"
    AT_REST = "at_rest"
    PULMONARY_SYMPTOMS = "pulmonary_symptoms"
    ADULT = "adult"
    PREVIOUSLY_NORMAL = "previously_normal"
    SUSTAINED_FEVER_OVER_ONE_HOUR = "sustained_fever_over_one_hour"
    ABOVE_40_CELSIUS_OVER_24_HOURS = "above_40_celsius_over_24_hours"
    AT_MYOCARDIAL_INFARCTION_LEVEL = "at_myocardial_infarction_level"
    INTERVENTION_INDICATED = "intervention_indicated"
    HOSPITALIZATION_INDICATED = "hospitalization_indicated"


@dataclass(frozen=True)
class Comparison:
    """`measure op factor × reference` (for `Reference.NUMBER`, `factor` is the number itself)."""

    measure: Measure
    op: Op
    factor: Decimal
    reference: Reference = Reference.NUMBER


@dataclass(frozen=True)
class Requirement:
    fact: Fact
    value: bool


@dataclass(frozen=True)
class Alternative:
    """One OR-alternative of a grade: all comparisons and requirements must hold.

    `unit` is the unit of the absolute numbers of value-unit measures; alternatives written in
    another dimension than the value's (the other unit system) are not compared.
    """

    text: str
    comparisons: tuple[Comparison, ...]
    requirements: tuple[Requirement, ...] = ()
    unit: Unit | None = None


@dataclass(frozen=True)
class GradeRule:
    """A defined grade: its numeric alternatives and the NCI wording a number cannot decide."""

    grade: int
    alternatives: tuple[Alternative, ...] = ()
    clinical: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exclusion:
    """A situation in which the measurement cannot be graded under this term, and why."""

    reason: str
    comparisons: tuple[Comparison, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    unit: Unit | None = None


class Direction(Enum):
    """Whether the term is about values that are too high or too low (decides a normal baseline)."""

    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True)
class LabCriteria:
    """The CTCAE v5.0 grading of one measurement."""

    term: LabTerm
    ctcae_term: str
    meddra_code: str
    measurement: str
    direction: Direction
    units: tuple[Unit, ...]
    grades: tuple[GradeRule, ...]
    worst_case: frozenset[Fact] = frozenset()
    exclusions: tuple[Exclusion, ...] = ()
    notes: tuple[str, ...] = ()
    # mEq/L is accepted for electrolytes as mmol/L × valence.
    valence: int | None = None
    # g/mol: a mass concentration is converted to mmol/L by it when NCI wrote mmol/L only.
    molar_mass: Decimal | None = None
    # Facts of arms that apply only when stated (unknown = the arm is not met, nothing assumed):
    # "symptomatic", "intervention initiated", "hospitalization indicated" of the electrolytes.
    stated_only: frozenset[Fact] = frozenset()

    @property
    def defined_grades(self) -> tuple[int, ...]:
        return tuple(rule.grade for rule in self.grades)


# --- builders that keep the table below close to the NCI wording ------------------------------

_V = Measure.VALUE
_NUM = Reference.NUMBER
_ULN = Reference.ULN
_LLN = Reference.LLN
_BL = Reference.BASELINE


def _d(number: str) -> Decimal:
    return Decimal(number)


def gt(factor: str, reference: Reference = _NUM, measure: Measure = _V) -> Comparison:
    return Comparison(measure, Op.GT, _d(factor), reference)


def ge(factor: str, reference: Reference = _NUM, measure: Measure = _V) -> Comparison:
    return Comparison(measure, Op.GE, _d(factor), reference)


def lt(factor: str, reference: Reference = _NUM, measure: Measure = _V) -> Comparison:
    return Comparison(measure, Op.LT, _d(factor), reference)


def le(factor: str, reference: Reference = _NUM, measure: Measure = _V) -> Comparison:
    return Comparison(measure, Op.LE, _d(factor), reference)


def eq(factor: str, measure: Measure) -> Comparison:
    return Comparison(measure, Op.EQ, _d(factor))


def ne(factor: str, measure: Measure) -> Comparison:
    return Comparison(measure, Op.NE, _d(factor))


def alt(
    text: str,
    *comparisons: Comparison,
    unit: Unit | None = None,
    when: tuple[Requirement, ...] = (),
) -> Alternative:
    return Alternative(text, comparisons, when, unit)


def grade(number: int, *alternatives: Alternative, clinical: tuple[str, ...] = ()) -> GradeRule:
    return GradeRule(number, alternatives, clinical)


def clinical_grade(number: int, *text: str) -> GradeRule:
    return GradeRule(number, (), text)


def yes(fact: Fact) -> tuple[Requirement, ...]:
    return (Requirement(fact, True),)


def no(fact: Fact) -> tuple[Requirement, ...]:
    return (Requirement(fact, False),)


_DEATH: Final = clinical_grade(5, "Death")
_LIFE_THREATENING: Final = "Life-threatening consequences; urgent intervention indicated"
_G4_LIFE_THREATENING: Final = clinical_grade(4, _LIFE_THREATENING)

_COUNT_UNITS: Final = (u.PER_CUBIC_MILLIMETRE, u.GIGA_PER_LITRE)
_ENZYME_UNITS: Final = (u.UNIT_PER_LITRE, u.MICROKATAL_PER_LITRE)
_HGB_UNITS: Final = (u.GRAM_PER_DECILITRE, u.GRAM_PER_LITRE, u.MILLIMOLE_PER_LITRE)
_TROPONIN_UNITS: Final = (u.NANOGRAM_PER_LITRE, u.MICROGRAM_PER_LITRE)
_TEMPERATURE_UNITS: Final = (u.CELSIUS, u.FAHRENHEIT)
_PERCENT_UNITS: Final = (u.PERCENT, u.ONE)

_INTEGER_RANGES: Final = (
    "Bands printed in integer steps are contiguous: a value between two printed bands belongs to "
    "the more severe one (no gap, no overlap); at the edge facing normal values the printed "
    "number is inclusive."
)
_NO_MOLAR: Final = (
    "NCI gives this threshold in one unit system only; values are accepted in units of the same "
    "dimension and never converted through a molar mass."
)


def _count_decrease(
    term: LabTerm,
    name: str,
    code: str,
    measurement: str,
    per_mm3: tuple[str, str, str],
    giga: tuple[str, str, str],
    texts: tuple[str, str, str, str],
) -> LabCriteria:
    """The four-grade blood count decreases ("<LLN - a; <a - b; <b - c; <c"), in both systems."""
    (a, b, c), (ga, gb, gc) = per_mm3, giga
    g1, g2, g3, g4 = texts
    mm3, giga_l = u.PER_CUBIC_MILLIMETRE, u.GIGA_PER_LITRE
    return LabCriteria(
        term=term,
        ctcae_term=name,
        meddra_code=code,
        measurement=measurement,
        direction=Direction.LOW,
        units=_COUNT_UNITS,
        grades=(
            grade(
                1,
                alt(g1, ge(a), lt("1", _LLN), unit=mm3),
                alt(g1, ge(ga), lt("1", _LLN), unit=giga_l),
            ),
            grade(2, alt(g2, ge(b), lt(a), unit=mm3), alt(g2, ge(gb), lt(ga), unit=giga_l)),
            grade(3, alt(g3, ge(c), lt(b), unit=mm3), alt(g3, ge(gc), lt(gb), unit=giga_l)),
            grade(4, alt(g4, lt(c), unit=mm3), alt(g4, lt(gc), unit=giga_l)),
        ),
    )


def _baseline_branch_increase(
    term: LabTerm,
    name: str,
    code: str,
    measurement: str,
    units: tuple[Unit, ...],
    g1_baseline_lower: Comparison,
    uln_limits: tuple[str, str, str],
    g1_text: str,
    notes: tuple[str, ...] = (),
) -> LabCriteria:
    """ALT, AST, ALP, GGT, bilirubin: ×ULN if baseline was normal, ×baseline if it was abnormal."""
    one, two, three = uln_limits
    normal, abnormal = yes(Fact.BASELINE_NORMAL), no(Fact.BASELINE_NORMAL)
    return LabCriteria(
        term=term,
        ctcae_term=name,
        meddra_code=code,
        measurement=measurement,
        direction=Direction.HIGH,
        units=units,
        grades=(
            grade(
                1,
                alt(
                    f">ULN - {one} x ULN if baseline was normal",
                    gt("1", _ULN),
                    le(one, _ULN),
                    when=normal,
                ),
                alt(g1_text, g1_baseline_lower, le(one, _BL), when=abnormal),
            ),
            grade(
                2,
                alt(
                    f">{one} - {two} x ULN if baseline was normal",
                    gt(one, _ULN),
                    le(two, _ULN),
                    when=normal,
                ),
                alt(
                    f">{one} - {two} x baseline if baseline was abnormal",
                    gt(one, _BL),
                    le(two, _BL),
                    when=abnormal,
                ),
            ),
            grade(
                3,
                alt(
                    f">{two} - {three} x ULN if baseline was normal",
                    gt(two, _ULN),
                    le(three, _ULN),
                    when=normal,
                ),
                alt(
                    f">{two} - {three} x baseline if baseline was abnormal",
                    gt(two, _BL),
                    le(three, _BL),
                    when=abnormal,
                ),
            ),
            grade(
                4,
                alt(f">{three} x ULN if baseline was normal", gt(three, _ULN), when=normal),
                alt(f">{three} x baseline if baseline was abnormal", gt(three, _BL), when=abnormal),
            ),
        ),
        notes=(
            "'Baseline abnormal' means above ULN; when the flag is not given it is derived from "
            "the baseline value and ULN.",
            *notes,
        ),
    )


def _uln_multiple(
    term: LabTerm,
    name: str,
    code: str,
    measurement: str,
    units: tuple[Unit, ...],
    limits: tuple[tuple[str, str], ...],
    texts: tuple[str, ...],
) -> LabCriteria:
    """Terms graded only by multiples of ULN: G1 (ULN, a], G2 (a, b], … the last open-ended."""
    rules: list[GradeRule] = []
    lower = "1"
    for index, ((_, upper), text) in enumerate(zip(limits, texts, strict=True), start=1):
        comparisons = (gt(lower, _ULN),) if upper == "" else (gt(lower, _ULN), le(upper, _ULN))
        rules.append(grade(index, alt(text, *comparisons)))
        lower = upper
    return LabCriteria(term, name, code, measurement, Direction.HIGH, units, tuple(rules))


# Clinical arms of the electrolytes ("<value arm>; hospitalization indicated") a caller can state.
_STATED_ARMS: Final[Mapping[str, Fact]] = MappingProxyType(
    {
        "symptomatic": Fact.SYMPTOMATIC,
        "intervention initiated": Fact.INTERVENTION_INITIATED,
        "intervention indicated": Fact.INTERVENTION_INDICATED,
        "hospitalization indicated": Fact.HOSPITALIZATION_INDICATED,
    }
)


def _with_stated_arms(
    rules: tuple[GradeRule, ...], direction: Direction, worst_case: frozenset[Fact]
) -> tuple[tuple[GradeRule, ...], frozenset[Fact]]:
    """Each clinical arm NCI wrote beside the numbers as an alternative that applies when stated
    (with the value beyond the normal limit); the facts it reads, unless settled by worst case."""
    abnormal = gt("1", _ULN) if direction is Direction.HIGH else lt("1", _LLN)
    stated: set[Fact] = set()
    out: list[GradeRule] = []
    for rule in rules:
        arms = tuple(
            alt(text, abnormal, when=yes(_STATED_ARMS[text]))
            for text in rule.clinical
            if text in _STATED_ARMS
        )
        stated |= {arm.requirements[0].fact for arm in arms}
        out.append(GradeRule(rule.grade, rule.alternatives + arms, rule.clinical))
    return tuple(out), frozenset(stated - worst_case)


def _electrolyte(
    term: LabTerm,
    name: str,
    code: str,
    measurement: str,
    direction: Direction,
    rules: tuple[GradeRule, ...],
    *,
    units: tuple[Unit, ...] = (u.MILLIMOLE_PER_LITRE, u.MILLIEQUIVALENT_PER_LITRE),
    valence: int | None = 1,
    molar_mass: Decimal | None = None,
    worst_case: frozenset[Fact] = frozenset(),
    notes: tuple[str, ...] = (),
) -> LabCriteria:
    grades, stated_only = _with_stated_arms(rules, direction, worst_case)
    return LabCriteria(
        term=term,
        ctcae_term=name,
        meddra_code=code,
        measurement=measurement,
        direction=direction,
        units=units,
        grades=grades,
        worst_case=worst_case,
        notes=notes,
        valence=valence,
        molar_mass=molar_mass,
        stated_only=stated_only,
    )


_MMOL = u.MILLIMOLE_PER_LITRE
_MGDL = u.MILLIGRAM_PER_DECILITRE
# Calcium 40.08 g/mol: mg/dL × 10 / 40.08 = mmol/L, i.e. mg/dL ÷ 4.008.
_CALCIUM_MOLAR_MASS: Final = Decimal("40.08")
_IONIZED_CALCIUM_IN_MG_DL: Final = (
    "NCI writes ionized calcium in mmol/L only; a value in mg/dL (and its LLN, ULN and baseline) "
    "is converted by calcium's molar mass, 40.08 g/mol: mg/dL ÷ 4.008 = mmol/L."
)

_TABLE: Final[tuple[LabCriteria, ...]] = (
    # --- Hematology ----------------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.ANEMIA,
        ctcae_term="Anemia",
        meddra_code="10002272",
        measurement="Hemoglobin",
        direction=Direction.LOW,
        units=_HGB_UNITS,
        grades=(
            grade(
                1,
                alt(
                    "Hemoglobin (Hgb) <LLN - 10.0 g/dL",
                    ge("10.0"),
                    lt("1", _LLN),
                    unit=u.GRAM_PER_DECILITRE,
                ),
                alt("<LLN - 6.2 mmol/L", ge("6.2"), lt("1", _LLN), unit=_MMOL),
                alt("<LLN - 100 g/L", ge("100"), lt("1", _LLN), unit=u.GRAM_PER_LITRE),
            ),
            grade(
                2,
                alt("Hgb <10.0 - 8.0 g/dL", ge("8.0"), lt("10.0"), unit=u.GRAM_PER_DECILITRE),
                alt("<6.2 - 4.9 mmol/L", ge("4.9"), lt("6.2"), unit=_MMOL),
                alt("<100 - 80g/L", ge("80"), lt("100"), unit=u.GRAM_PER_LITRE),
            ),
            grade(
                3,
                alt("Hgb <8.0 g/dL", lt("8.0"), unit=u.GRAM_PER_DECILITRE),
                alt("<4.9 mmol/L", lt("4.9"), unit=_MMOL),
                alt("<80 g/L", lt("80"), unit=u.GRAM_PER_LITRE),
                clinical=("transfusion indicated",),
            ),
            _G4_LIFE_THREATENING,
            _DEATH,
        ),
    ),
    _count_decrease(
        LabTerm.NEUTROPHIL_COUNT_DECREASED,
        "Neutrophil count decreased",
        "10029366",
        "Absolute neutrophil count",
        ("1500", "1000", "500"),
        ("1.5", "1.0", "0.5"),
        (
            "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L",
            "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L",
            "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L",
            "<500/mm3; <0.5 x 10e9 /L",
        ),
    ),
    _count_decrease(
        LabTerm.PLATELET_COUNT_DECREASED,
        "Platelet count decreased",
        "10035528",
        "Platelet count",
        ("75000", "50000", "25000"),
        ("75.0", "50.0", "25.0"),
        (
            "<LLN - 75,000/mm3; <LLN - 75.0 x 10e9 /L",
            "<75,000 - 50,000/mm3; <75.0 - 50.0 x 10e9 /L",
            "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L",
            "<25,000/mm3; <25.0 x 10e9 /L",
        ),
    ),
    _count_decrease(
        LabTerm.WHITE_BLOOD_CELL_DECREASED,
        "White blood cell decreased",
        "10049182",
        "White blood cell count",
        ("3000", "2000", "1000"),
        ("3.0", "2.0", "1.0"),
        (
            "<LLN - 3000/mm3; <LLN - 3.0 x 10e9 /L",
            "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9 /L",
            "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9 /L",
            "<1000/mm3; <1.0 x 10e9 /L",
        ),
    ),
    _count_decrease(
        LabTerm.LYMPHOCYTE_COUNT_DECREASED,
        "Lymphocyte count decreased",
        "10025256",
        "Lymphocyte count",
        ("800", "500", "200"),
        ("0.8", "0.5", "0.2"),
        (
            "<LLN - 800/mm3; <LLN - 0.8 x 10e9/L",
            "<800 - 500/mm3; <0.8 - 0.5 x 10e9 /L",
            "<500 - 200/mm3; <0.5 - 0.2 x 10e9 /L",
            "<200/mm3; <0.2 x 10e9 /L",
        ),
    ),
    LabCriteria(
        term=LabTerm.LYMPHOCYTE_COUNT_INCREASED,
        ctcae_term="Lymphocyte count increased",
        meddra_code="10025258",
        measurement="Lymphocyte count",
        direction=Direction.HIGH,
        units=_COUNT_UNITS,
        grades=(
            grade(
                2,
                alt(">4000/mm3 - 20,000/mm3", gt("4000"), le("20000"), unit=u.PER_CUBIC_MILLIMETRE),
            ),
            grade(3, alt(">20,000/mm3", gt("20000"), unit=u.PER_CUBIC_MILLIMETRE)),
        ),
        notes=(_NO_MOLAR,),
    ),
    LabCriteria(
        term=LabTerm.CD4_LYMPHOCYTES_DECREASED,
        ctcae_term="CD4 lymphocytes decreased",
        meddra_code="10007839",
        measurement="CD4 lymphocyte count",
        direction=Direction.LOW,
        units=_COUNT_UNITS,
        grades=(
            grade(
                1,
                alt("<LLN - 500/mm3", ge("500"), lt("1", _LLN), unit=u.PER_CUBIC_MILLIMETRE),
                alt("<LLN - 0.5 x 10e9 /L", ge("0.5"), lt("1", _LLN), unit=u.GIGA_PER_LITRE),
            ),
            grade(
                2,
                alt("<500 - 200/mm3", ge("200"), lt("500"), unit=u.PER_CUBIC_MILLIMETRE),
                alt("<0.5 - 0.2 x 10e9 /L", ge("0.2"), lt("0.5"), unit=u.GIGA_PER_LITRE),
            ),
            grade(
                3,
                alt("<200 - 50/mm3", ge("50"), lt("200"), unit=u.PER_CUBIC_MILLIMETRE),
                # NCI's SI text reads "<0.2 x 0.05 - 10e9 /L": garbled for <0.2 - 0.05 x 10e9/L.
                alt("<0.2 x 0.05 - 10e9 /L", ge("0.05"), lt("0.2"), unit=u.GIGA_PER_LITRE),
            ),
            grade(
                4,
                alt("<50/mm3", lt("50"), unit=u.PER_CUBIC_MILLIMETRE),
                alt("<0.05 x 10e9 /L", lt("0.05"), unit=u.GIGA_PER_LITRE),
            ),
        ),
        notes=("NCI's grade 3 SI text is garbled ('<0.2 x 0.05 - 10e9 /L'); read as 0.2–0.05.",),
    ),
    LabCriteria(
        term=LabTerm.LEUKOCYTOSIS,
        ctcae_term="Leukocytosis",
        meddra_code="10024378",
        measurement="White blood cell count",
        direction=Direction.HIGH,
        units=_COUNT_UNITS,
        grades=(
            grade(3, alt(">100,000/mm3", gt("100000"), unit=u.PER_CUBIC_MILLIMETRE)),
            clinical_grade(
                4, "Clinical manifestations of leucostasis; urgent intervention indicated"
            ),
            _DEATH,
        ),
    ),
    LabCriteria(
        term=LabTerm.EOSINOPHILIA,
        ctcae_term="Eosinophilia",
        meddra_code="10014950",
        measurement="Eosinophil count",
        direction=Direction.HIGH,
        units=_COUNT_UNITS,
        grades=(
            grade(1, alt(">ULN and >Baseline", gt("1", _ULN), gt("1", _BL))),
            clinical_grade(3, "Steroids initiated"),
        ),
    ),
    LabCriteria(
        term=LabTerm.HEMOGLOBIN_INCREASED,
        ctcae_term="Hemoglobin increased",
        meddra_code="10055599",
        measurement="Hemoglobin",
        direction=Direction.HIGH,
        units=(u.GRAM_PER_DECILITRE, u.GRAM_PER_LITRE),
        grades=(
            grade(
                1,
                alt(
                    "Increase in >0 - 2 g/dL",
                    gt("0", measure=Measure.INCREASE_OVER_ULN),
                    le("2", measure=Measure.INCREASE_OVER_ULN),
                    unit=u.GRAM_PER_DECILITRE,
                ),
            ),
            grade(
                2,
                alt(
                    "Increase in >2 - 4 g/dL",
                    gt("2", measure=Measure.INCREASE_OVER_ULN),
                    le("4", measure=Measure.INCREASE_OVER_ULN),
                    unit=u.GRAM_PER_DECILITRE,
                ),
            ),
            grade(
                3,
                alt(
                    "Increase in >4 g/dL",
                    gt("4", measure=Measure.INCREASE_OVER_ULN),
                    unit=u.GRAM_PER_DECILITRE,
                ),
            ),
        ),
        notes=(
            "The grade text does not say what the increase is over; the CTCAE definition "
            "('increased levels of hemoglobin above normal') makes it the increase over ULN, as "
            "admiral reads it (ULN + 20 / + 40 g/L).",
            _NO_MOLAR,
        ),
    ),
    LabCriteria(
        term=LabTerm.FEBRILE_NEUTROPENIA,
        ctcae_term="Febrile neutropenia",
        meddra_code="10016288",
        measurement="Absolute neutrophil count with temperature",
        direction=Direction.LOW,
        units=_COUNT_UNITS,
        grades=(
            grade(
                3,
                alt(
                    "ANC <1000/mm3 with a single temperature of >38.3 degrees C (101 degrees F)",
                    lt("1000"),
                    gt("38.3", measure=Measure.PEAK_TEMPERATURE_CELSIUS),
                    unit=u.PER_CUBIC_MILLIMETRE,
                ),
                alt(
                    "ANC <1000/mm3 with ... a sustained temperature of >=38 degrees C "
                    "(100.4 degrees F) for more than one hour",
                    lt("1000"),
                    unit=u.PER_CUBIC_MILLIMETRE,
                    when=yes(Fact.SUSTAINED_FEVER_OVER_ONE_HOUR),
                ),
            ),
            _G4_LIFE_THREATENING,
            _DEATH,
        ),
    ),
    # --- Chemistry -----------------------------------------------------------------------------
    _baseline_branch_increase(
        LabTerm.ALANINE_AMINOTRANSFERASE_INCREASED,
        "Alanine aminotransferase increased",
        "10001551",
        "Alanine aminotransferase (ALT)",
        _ENZYME_UNITS,
        ge("1.5", _BL),
        ("3.0", "5.0", "20.0"),
        "1.5 - 3.0 x baseline if baseline was abnormal",
    ),
    _baseline_branch_increase(
        LabTerm.ASPARTATE_AMINOTRANSFERASE_INCREASED,
        "Aspartate aminotransferase increased",
        "10003481",
        "Aspartate aminotransferase (AST)",
        _ENZYME_UNITS,
        ge("1.5", _BL),
        ("3.0", "5.0", "20.0"),
        "1.5 - 3.0 x baseline if baseline was abnormal",
    ),
    _baseline_branch_increase(
        LabTerm.ALKALINE_PHOSPHATASE_INCREASED,
        "Alkaline phosphatase increased",
        "10001675",
        "Alkaline phosphatase (ALP)",
        _ENZYME_UNITS,
        ge("2.0", _BL),
        ("2.5", "5.0", "20.0"),
        "2.0 - 2.5 x baseline if baseline was abnormal",
    ),
    _baseline_branch_increase(
        LabTerm.GGT_INCREASED,
        "GGT increased",
        "10056910",
        "Gamma-glutamyltransferase (GGT)",
        _ENZYME_UNITS,
        ge("2.0", _BL),
        ("2.5", "5.0", "20.0"),
        "2.0 - 2.5 x baseline if baseline was abnormal",
    ),
    _baseline_branch_increase(
        LabTerm.BLOOD_BILIRUBIN_INCREASED,
        "Blood bilirubin increased",
        "10005364",
        "Total bilirubin",
        (_MGDL, u.MICROMOLE_PER_LITRE),
        gt("1.0", _BL),
        ("1.5", "3.0", "10.0"),
        "> 1.0 - 1.5 x baseline if baseline was abnormal",
    ),
    LabCriteria(
        term=LabTerm.CREATININE_INCREASED,
        ctcae_term="Creatinine increased",
        meddra_code="10011368",
        measurement="Serum creatinine",
        direction=Direction.HIGH,
        units=(_MGDL, u.MICROMOLE_PER_LITRE),
        grades=(
            grade(1, alt(">ULN - 1.5 x ULN", gt("1", _ULN), le("1.5", _ULN))),
            grade(
                2,
                alt(">1.5 - 3.0 x baseline", gt("1.5", _BL), le("3.0", _BL)),
                alt(">1.5 - 3.0 x ULN", gt("1.5", _ULN), le("3.0", _ULN)),
            ),
            grade(
                3,
                alt(">3.0 x baseline", gt("3.0", _BL)),
                alt(">3.0 - 6.0 x ULN", gt("3.0", _ULN), le("6.0", _ULN)),
            ),
            grade(4, alt(">6.0 x ULN", gt("6.0", _ULN))),
        ),
        notes=(
            "Semicolon = OR: the ×baseline and ×ULN criteria both apply; the higher grade wins.",
        ),
    ),
    _uln_multiple(
        LabTerm.CPK_INCREASED,
        "CPK increased",
        "10011268",
        "Creatine phosphokinase (CPK)",
        _ENZYME_UNITS,
        (("1", "2.5"), ("2.5", "5"), ("5", "10"), ("10", "")),
        (">ULN - 2.5 x ULN", ">2.5 x ULN - 5 x ULN", ">5 x ULN - 10 x ULN", ">10 x ULN"),
    ),
    *(
        LabCriteria(
            term=term,
            ctcae_term=name,
            meddra_code=code,
            measurement=measurement,
            direction=Direction.HIGH,
            units=_ENZYME_UNITS,
            grades=(
                grade(1, alt(">ULN - 1.5 x ULN", gt("1", _ULN), le("1.5", _ULN))),
                grade(
                    2,
                    alt(">1.5 - 2.0 x ULN", gt("1.5", _ULN), le("2.0", _ULN)),
                    alt(
                        ">2.0 - 5.0 x ULN and asymptomatic",
                        gt("2.0", _ULN),
                        le("5.0", _ULN),
                        when=no(Fact.SYMPTOMATIC),
                    ),
                ),
                grade(
                    3,
                    alt(
                        ">2.0 - 5.0 x ULN with signs or symptoms",
                        gt("2.0", _ULN),
                        le("5.0", _ULN),
                        when=yes(Fact.SYMPTOMATIC),
                    ),
                    alt(">5.0 x ULN and asymptomatic", gt("5.0", _ULN), when=no(Fact.SYMPTOMATIC)),
                ),
                grade(
                    4,
                    alt(
                        ">5.0 x ULN and with signs or symptoms",
                        gt("5.0", _ULN),
                        when=yes(Fact.SYMPTOMATIC),
                    ),
                ),
            ),
            # admiral ncictcaev5: lipase/amylase assume "signs and symptoms" when unknown.
            worst_case=frozenset({Fact.SYMPTOMATIC}),
        )
        for term, name, code, measurement in (
            (LabTerm.LIPASE_INCREASED, "Lipase increased", "10024574", "Lipase"),
            (LabTerm.SERUM_AMYLASE_INCREASED, "Serum amylase increased", "10040139", "Amylase"),
        )
    ),
    LabCriteria(
        term=LabTerm.BLOOD_LACTATE_DEHYDROGENASE_INCREASED,
        ctcae_term="Blood lactate dehydrogenase increased",
        meddra_code="10005630",
        measurement="Lactate dehydrogenase (LDH)",
        direction=Direction.HIGH,
        units=_ENZYME_UNITS,
        grades=(grade(1, alt(">ULN", gt("1", _ULN))),),
    ),
    LabCriteria(
        term=LabTerm.HAPTOGLOBIN_DECREASED,
        ctcae_term="Haptoglobin decreased",
        meddra_code="10019150",
        measurement="Haptoglobin",
        direction=Direction.LOW,
        units=(u.GRAM_PER_LITRE, _MGDL),
        grades=(grade(1, alt("<LLN", lt("1", _LLN))),),
    ),
    LabCriteria(
        term=LabTerm.BLOOD_BICARBONATE_DECREASED,
        ctcae_term="Blood bicarbonate decreased",
        meddra_code="10005359",
        measurement="Bicarbonate (venous)",
        direction=Direction.LOW,
        units=(_MMOL, u.MILLIEQUIVALENT_PER_LITRE),
        grades=(
            grade(
                1,
                alt(
                    "<LLN and no intervention initiated",
                    lt("1", _LLN),
                    when=no(Fact.INTERVENTION_INITIATED),
                ),
            ),
        ),
        exclusions=(
            Exclusion(
                "CTCAE v5.0 defines Blood bicarbonate decreased only as grade 1 '<LLN and no "
                "intervention initiated'; once an intervention is initiated grade the event as "
                "Acidosis (navigational note: 'Also consider … Acidosis or Alkalosis')",
                comparisons=(lt("1", _LLN),),
                requirements=yes(Fact.INTERVENTION_INITIATED),
            ),
        ),
        valence=1,
    ),
    LabCriteria(
        term=LabTerm.HYPOALBUMINEMIA,
        ctcae_term="Hypoalbuminemia",
        meddra_code="10020943",
        measurement="Albumin",
        direction=Direction.LOW,
        units=(u.GRAM_PER_DECILITRE, u.GRAM_PER_LITRE),
        grades=(
            grade(
                1,
                alt("<LLN - 3 g/dL", ge("3"), lt("1", _LLN), unit=u.GRAM_PER_DECILITRE),
                alt("<LLN - 30 g/L", ge("30"), lt("1", _LLN), unit=u.GRAM_PER_LITRE),
            ),
            grade(
                2,
                alt("<3 - 2 g/dL", ge("2"), lt("3"), unit=u.GRAM_PER_DECILITRE),
                alt("<30 - 20 g/L", ge("20"), lt("30"), unit=u.GRAM_PER_LITRE),
            ),
            grade(
                3,
                alt("<2 g/dL", lt("2"), unit=u.GRAM_PER_DECILITRE),
                alt("<20 g/L", lt("20"), unit=u.GRAM_PER_LITRE),
            ),
            _G4_LIFE_THREATENING,
            _DEATH,
        ),
    ),
    LabCriteria(
        term=LabTerm.CHOLESTEROL_HIGH,
        ctcae_term="Cholesterol high",
        meddra_code="10008661",
        measurement="Total cholesterol",
        direction=Direction.HIGH,
        units=(_MGDL, _MMOL),
        grades=(
            grade(
                1,
                alt(">ULN - 300 mg/dL", gt("1", _ULN), le("300"), unit=_MGDL),
                alt(">ULN - 7.75 mmol/L", gt("1", _ULN), le("7.75"), unit=_MMOL),
            ),
            grade(
                2,
                alt(">300 - 400 mg/dL", gt("300"), le("400"), unit=_MGDL),
                alt(">7.75 - 10.34 mmol/L", gt("7.75"), le("10.34"), unit=_MMOL),
            ),
            grade(
                3,
                alt(">400 - 500 mg/dL", gt("400"), le("500"), unit=_MGDL),
                alt(">10.34 - 12.92 mmol/L", gt("10.34"), le("12.92"), unit=_MMOL),
            ),
            grade(
                4,
                alt(">500 mg/dL", gt("500"), unit=_MGDL),
                alt(">12.92 mmol/L", gt("12.92"), unit=_MMOL),
            ),
        ),
    ),
    LabCriteria(
        term=LabTerm.HYPERTRIGLYCERIDEMIA,
        ctcae_term="Hypertriglyceridemia",
        meddra_code="10020870",
        measurement="Triglycerides",
        direction=Direction.HIGH,
        units=(_MGDL, _MMOL),
        grades=(
            grade(
                1,
                alt("150 mg/dL - 300 mg/dL", ge("150"), le("300"), unit=_MGDL),
                alt("1.71 mmol/L - 3.42 mmol/L", ge("1.71"), le("3.42"), unit=_MMOL),
            ),
            grade(
                2,
                alt(">300 mg/dL - 500 mg/dL", gt("300"), le("500"), unit=_MGDL),
                alt(">3.42 mmol/L - 5.7 mmol/L", gt("3.42"), le("5.7"), unit=_MMOL),
            ),
            grade(
                3,
                alt(">500 mg/dL - 1000 mg/dL", gt("500"), le("1000"), unit=_MGDL),
                alt(">5.7 mmol/L - 11.4 mmol/L", gt("5.7"), le("11.4"), unit=_MMOL),
            ),
            grade(
                4,
                alt(">1000 mg/dL", gt("1000"), unit=_MGDL),
                alt(">11.4 mmol/L", gt("11.4"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        notes=("The grade 1 lower bound is inclusive (150 mg/dL; 1.71 mmol/L).",),
    ),
    *(
        LabCriteria(
            term=term,
            ctcae_term=name,
            meddra_code=code,
            measurement=measurement,
            direction=Direction.HIGH,
            units=_TROPONIN_UNITS,
            grades=(
                grade(
                    1,
                    alt(
                        "Levels above the upper limit of normal and below the level of myocardial "
                        "infarction as defined by the manufacturer",
                        gt("1", _ULN),
                        when=no(Fact.AT_MYOCARDIAL_INFARCTION_LEVEL),
                    ),
                ),
                grade(
                    3,
                    alt(
                        "Levels consistent with myocardial infarction as defined by the "
                        "manufacturer",
                        gt("1", _ULN),
                        when=yes(Fact.AT_MYOCARDIAL_INFARCTION_LEVEL),
                    ),
                ),
            ),
            notes=(
                "The assay manufacturer's myocardial-infarction level is an input (mi_level, in "
                "the value's unit); a level at or above it is 'consistent with myocardial "
                "infarction'.",
            ),
        )
        for term, name, code, measurement in (
            (
                LabTerm.CARDIAC_TROPONIN_I_INCREASED,
                "Cardiac troponin I increased",
                "10007612",
                "Troponin I",
            ),
            (
                LabTerm.CARDIAC_TROPONIN_T_INCREASED,
                "Cardiac troponin T increased",
                "10007613",
                "Troponin T",
            ),
        )
    ),
    # --- Coagulation ---------------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED,
        ctcae_term="Activated partial thromboplastin time prolonged",
        meddra_code="10000636",
        measurement="aPTT",
        direction=Direction.HIGH,
        units=(u.SECOND,),
        grades=(
            grade(1, alt(">ULN - 1.5 x ULN", gt("1", _ULN), le("1.5", _ULN))),
            grade(2, alt(">1.5 - 2.5 x ULN", gt("1.5", _ULN), le("2.5", _ULN))),
            grade(3, alt(">2.5 x ULN", gt("2.5", _ULN)), clinical=("bleeding",)),
        ),
    ),
    LabCriteria(
        term=LabTerm.INR_INCREASED,
        ctcae_term="INR increased",
        meddra_code="10022402",
        measurement="INR",
        direction=Direction.HIGH,
        units=(u.ONE,),
        grades=(
            grade(
                1,
                alt(
                    ">1.2 - 1.5", gt("1.2"), le("1.5"), unit=u.ONE, when=no(Fact.ON_ANTICOAGULATION)
                ),
                alt(
                    ">1 - 1.5 x baseline if on anticoagulation",
                    gt("1", _BL),
                    le("1.5", _BL),
                    when=yes(Fact.ON_ANTICOAGULATION),
                ),
                clinical=("monitoring only indicated",),
            ),
            grade(
                2,
                alt(
                    ">1.5 - 2.5", gt("1.5"), le("2.5"), unit=u.ONE, when=no(Fact.ON_ANTICOAGULATION)
                ),
                alt(
                    ">1.5 - 2.5 x baseline if on anticoagulation",
                    gt("1.5", _BL),
                    le("2.5", _BL),
                    when=yes(Fact.ON_ANTICOAGULATION),
                ),
                clinical=("dose adjustment indicated",),
            ),
            grade(
                3,
                alt(">2.5", gt("2.5"), unit=u.ONE, when=no(Fact.ON_ANTICOAGULATION)),
                alt(
                    ">2.5 x baseline if on anticoagulation",
                    gt("2.5", _BL),
                    when=yes(Fact.ON_ANTICOAGULATION),
                ),
                clinical=("bleeding",),
            ),
        ),
        # admiral ncictcaev5: INR assumes "on anticoagulation" when unknown; here the worse of the
        # two readings is taken and named.
        worst_case=frozenset({Fact.ON_ANTICOAGULATION}),
        notes=(
            "Clinical decision, departing from a literal reading: NCI leaves the absolute arms "
            "('>1.2 - 1.5', '>1.5 - 2.5', '>2.5') unqualified, so read literally a subject on "
            "warfarin at its therapeutic INR of 2 - 3 would always have grade 2 - 3. The absolute "
            "thresholds therefore apply off anticoagulation only and the × baseline thresholds on "
            "it, as the 'if on anticoagulation' qualifier intends (and as admiral grades INR).",
        ),
    ),
    LabCriteria(
        term=LabTerm.FIBRINOGEN_DECREASED,
        ctcae_term="Fibrinogen decreased",
        meddra_code="10016596",
        measurement="Fibrinogen",
        direction=Direction.LOW,
        units=(_MGDL, u.GRAM_PER_LITRE),
        grades=(
            grade(
                1,
                alt(
                    "<1.0 - 0.75 x LLN",
                    ge("0.75", _LLN),
                    lt("1.0", _LLN),
                ),
                alt(
                    "if abnormal, <25% decrease from baseline",
                    gt("0", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    lt("25", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    when=no(Fact.BASELINE_NORMAL),
                ),
            ),
            grade(
                2,
                alt(
                    "<0.75 - 0.5 x LLN",
                    ge("0.5", _LLN),
                    lt("0.75", _LLN),
                ),
                alt(
                    "if abnormal, 25 - <50% decrease from baseline",
                    ge("25", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    lt("50", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    when=no(Fact.BASELINE_NORMAL),
                ),
            ),
            grade(
                3,
                alt(
                    "<0.5 - 0.25 x LLN",
                    ge("0.25", _LLN),
                    lt("0.5", _LLN),
                ),
                alt(
                    "if abnormal, 50 - <75% decrease from baseline",
                    ge("50", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    lt("75", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    when=no(Fact.BASELINE_NORMAL),
                ),
            ),
            grade(
                4,
                alt("<0.25 x LLN", lt("0.25", _LLN)),
                alt(
                    "if abnormal, 75% decrease from baseline",
                    ge("75", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    when=no(Fact.BASELINE_NORMAL),
                ),
                alt("absolute value <50 mg/dL", lt("50"), unit=_MGDL),
            ),
        ),
        notes=(
            "The × LLN arms and the absolute <50 mg/dL arm are unqualified and apply whatever the "
            "baseline; 'if abnormal' is read as 'if the baseline was abnormal' (below LLN), and "
            "then the decrease from baseline is graded as well: the more severe grade wins.",
        ),
    ),
    # --- Electrolytes --------------------------------------------------------------------------
    _electrolyte(
        LabTerm.HYPERKALEMIA,
        "Hyperkalemia",
        "10020647",
        "Potassium",
        Direction.HIGH,
        (
            grade(1, alt(">ULN - 5.5 mmol/L", gt("1", _ULN), le("5.5"), unit=_MMOL)),
            grade(
                2,
                alt(">5.5 - 6.0 mmol/L", gt("5.5"), le("6.0"), unit=_MMOL),
                clinical=("intervention initiated",),
            ),
            grade(
                3,
                alt(">6.0 - 7.0 mmol/L", gt("6.0"), le("7.0"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt(">7.0 mmol/L", gt("7.0"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
    ),
    _electrolyte(
        LabTerm.HYPOKALEMIA,
        "Hypokalemia",
        "10021018",
        "Potassium",
        Direction.LOW,
        (
            grade(
                1,
                alt(
                    "<LLN - 3.0 mmol/L",
                    ge("3.0"),
                    lt("1", _LLN),
                    unit=_MMOL,
                    when=no(Fact.SYMPTOMATIC),
                ),
            ),
            grade(
                2,
                alt(
                    "Symptomatic with <LLN - 3.0 mmol/L",
                    ge("3.0"),
                    lt("1", _LLN),
                    unit=_MMOL,
                    when=yes(Fact.SYMPTOMATIC),
                ),
                clinical=("intervention indicated",),
            ),
            grade(
                3,
                alt("<3.0 - 2.5 mmol/L", ge("2.5"), lt("3.0"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt("<2.5 mmol/L", lt("2.5"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        # admiral ncictcaev5: "<LLN - 3.0" assumes grade 2 (symptomatic) when unknown.
        worst_case=frozenset({Fact.SYMPTOMATIC}),
    ),
    _electrolyte(
        LabTerm.HYPERNATREMIA,
        "Hypernatremia",
        "10020680",
        "Sodium",
        Direction.HIGH,
        (
            grade(1, alt(">ULN - 150 mmol/L", gt("1", _ULN), le("150"), unit=_MMOL)),
            grade(
                2,
                alt(">150 - 155 mmol/L", gt("150"), le("155"), unit=_MMOL),
                clinical=("intervention initiated",),
            ),
            grade(
                3,
                alt(">155 - 160 mmol/L", gt("155"), le("160"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt(">160 mmol/L", gt("160"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
    ),
    _electrolyte(
        LabTerm.HYPONATREMIA,
        "Hyponatremia",
        "10021038",
        "Sodium",
        Direction.LOW,
        (
            grade(1, alt("<LLN - 130 mmol/L", ge("130"), lt("1", _LLN), unit=_MMOL)),
            grade(
                2,
                alt(
                    "125-129 mmol/L and asymptomatic",
                    ge("125"),
                    lt("130"),
                    unit=_MMOL,
                    when=no(Fact.SYMPTOMATIC),
                ),
            ),
            grade(
                3,
                alt(
                    "125-129 mmol/L symptomatic",
                    ge("125"),
                    lt("130"),
                    unit=_MMOL,
                    when=yes(Fact.SYMPTOMATIC),
                ),
                alt("120-124 mmol/L regardless of symptoms", ge("120"), lt("125"), unit=_MMOL),
            ),
            grade(
                4,
                alt("<120 mmol/L", lt("120"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        # admiral ncictcaev5: 125-129 assumes grade 3 (symptomatic) when unknown.
        worst_case=frozenset({Fact.SYMPTOMATIC}),
        notes=(_INTEGER_RANGES,),
    ),
    _electrolyte(
        LabTerm.HYPERCALCEMIA_CORRECTED_CALCIUM,
        "Hypercalcemia",
        "10020587",
        "Corrected serum calcium",
        Direction.HIGH,
        (
            grade(
                1,
                alt(
                    "Corrected serum calcium of >ULN - 11.5 mg/dL",
                    gt("1", _ULN),
                    le("11.5"),
                    unit=_MGDL,
                ),
                alt(">ULN - 2.9 mmol/L", gt("1", _ULN), le("2.9"), unit=_MMOL),
            ),
            grade(
                2,
                alt(
                    "Corrected serum calcium of >11.5 - 12.5 mg/dL",
                    gt("11.5"),
                    le("12.5"),
                    unit=_MGDL,
                ),
                alt(">2.9 - 3.1 mmol/L", gt("2.9"), le("3.1"), unit=_MMOL),
                clinical=("symptomatic",),
            ),
            grade(
                3,
                alt(
                    "Corrected serum calcium of >12.5 - 13.5 mg/dL",
                    gt("12.5"),
                    le("13.5"),
                    unit=_MGDL,
                ),
                alt(">3.1 - 3.4 mmol/L", gt("3.1"), le("3.4"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt("Corrected serum calcium of >13.5 mg/dL", gt("13.5"), unit=_MGDL),
                alt(">3.4 mmol/L", gt("3.4"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MGDL, _MMOL, u.MILLIEQUIVALENT_PER_LITRE),
        valence=2,
    ),
    _electrolyte(
        LabTerm.HYPERCALCEMIA_IONIZED_CALCIUM,
        "Hypercalcemia",
        "10020587",
        "Ionized calcium",
        Direction.HIGH,
        (
            grade(
                1, alt("Ionized calcium >ULN - 1.5 mmol/L", gt("1", _ULN), le("1.5"), unit=_MMOL)
            ),
            grade(
                2,
                alt("Ionized calcium >1.5 - 1.6 mmol/L", gt("1.5"), le("1.6"), unit=_MMOL),
                clinical=("symptomatic",),
            ),
            grade(
                3,
                alt("Ionized calcium >1.6 - 1.8 mmol/L", gt("1.6"), le("1.8"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt("Ionized calcium >1.8 mmol/L", gt("1.8"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MMOL, u.MILLIEQUIVALENT_PER_LITRE, _MGDL),
        valence=2,
        molar_mass=_CALCIUM_MOLAR_MASS,
        notes=(_IONIZED_CALCIUM_IN_MG_DL,),
    ),
    _electrolyte(
        LabTerm.HYPOCALCEMIA_CORRECTED_CALCIUM,
        "Hypocalcemia",
        "10020949",
        "Corrected serum calcium",
        Direction.LOW,
        (
            grade(
                1,
                alt(
                    "Corrected serum calcium of <LLN - 8.0 mg/dL",
                    ge("8.0"),
                    lt("1", _LLN),
                    unit=_MGDL,
                ),
                alt("<LLN - 2.0 mmol/L", ge("2.0"), lt("1", _LLN), unit=_MMOL),
            ),
            grade(
                2,
                alt(
                    "Corrected serum calcium of <8.0 - 7.0 mg/dL", ge("7.0"), lt("8.0"), unit=_MGDL
                ),
                alt("<2.0 - 1.75 mmol/L", ge("1.75"), lt("2.0"), unit=_MMOL),
                clinical=("symptomatic",),
            ),
            grade(
                3,
                alt(
                    "Corrected serum calcium of <7.0 - 6.0 mg/dL", ge("6.0"), lt("7.0"), unit=_MGDL
                ),
                alt("<1.75 - 1.5 mmol/L", ge("1.5"), lt("1.75"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt("Corrected serum calcium of <6.0 mg/dL", lt("6.0"), unit=_MGDL),
                alt("<1.5 mmol/L", lt("1.5"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MGDL, _MMOL, u.MILLIEQUIVALENT_PER_LITRE),
        valence=2,
    ),
    _electrolyte(
        LabTerm.HYPOCALCEMIA_IONIZED_CALCIUM,
        "Hypocalcemia",
        "10020949",
        "Ionized calcium",
        Direction.LOW,
        (
            grade(
                1, alt("Ionized calcium <LLN - 1.0 mmol/L", ge("1.0"), lt("1", _LLN), unit=_MMOL)
            ),
            grade(
                2,
                alt("Ionized calcium <1.0 - 0.9 mmol/L", ge("0.9"), lt("1.0"), unit=_MMOL),
                clinical=("symptomatic",),
            ),
            grade(
                3,
                alt("Ionized calcium <0.9 - 0.8 mmol/L", ge("0.8"), lt("0.9"), unit=_MMOL),
                clinical=("hospitalization indicated",),
            ),
            grade(
                4,
                alt("Ionized calcium <0.8 mmol/L", lt("0.8"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MMOL, u.MILLIEQUIVALENT_PER_LITRE, _MGDL),
        valence=2,
        molar_mass=_CALCIUM_MOLAR_MASS,
        notes=(_IONIZED_CALCIUM_IN_MG_DL,),
    ),
    _electrolyte(
        LabTerm.HYPERMAGNESEMIA,
        "Hypermagnesemia",
        "10020670",
        "Magnesium",
        Direction.HIGH,
        (
            grade(
                1,
                alt(">ULN - 3.0 mg/dL", gt("1", _ULN), le("3.0"), unit=_MGDL),
                alt(">ULN - 1.23 mmol/L", gt("1", _ULN), le("1.23"), unit=_MMOL),
            ),
            grade(
                3,
                alt(">3.0 - 8.0 mg/dL", gt("3.0"), le("8.0"), unit=_MGDL),
                alt(">1.23 - 3.30 mmol/L", gt("1.23"), le("3.30"), unit=_MMOL),
            ),
            grade(
                4,
                alt(">8.0 mg/dL", gt("8.0"), unit=_MGDL),
                alt(">3.30 mmol/L", gt("3.30"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MGDL, _MMOL, u.MILLIEQUIVALENT_PER_LITRE),
        valence=2,
    ),
    _electrolyte(
        LabTerm.HYPOMAGNESEMIA,
        "Hypomagnesemia",
        "10021028",
        "Magnesium",
        Direction.LOW,
        (
            grade(
                1,
                alt("<LLN - 1.2 mg/dL", ge("1.2"), lt("1", _LLN), unit=_MGDL),
                alt("<LLN - 0.5 mmol/L", ge("0.5"), lt("1", _LLN), unit=_MMOL),
            ),
            grade(
                2,
                alt("<1.2 - 0.9 mg/dL", ge("0.9"), lt("1.2"), unit=_MGDL),
                alt("<0.5 - 0.4 mmol/L", ge("0.4"), lt("0.5"), unit=_MMOL),
            ),
            grade(
                3,
                alt("<0.9 - 0.7 mg/dL", ge("0.7"), lt("0.9"), unit=_MGDL),
                alt("<0.4 - 0.3 mmol/L", ge("0.3"), lt("0.4"), unit=_MMOL),
            ),
            grade(
                4,
                alt("<0.7 mg/dL", lt("0.7"), unit=_MGDL),
                alt("<0.3 mmol/L", lt("0.3"), unit=_MMOL),
                clinical=("life-threatening consequences",),
            ),
            _DEATH,
        ),
        units=(_MGDL, _MMOL, u.MILLIEQUIVALENT_PER_LITRE),
        valence=2,
    ),
    _electrolyte(
        LabTerm.HYPOGLYCEMIA,
        "Hypoglycemia",
        "10021005",
        "Glucose",
        Direction.LOW,
        (
            grade(
                1,
                alt("<LLN - 55 mg/dL", ge("55"), lt("1", _LLN), unit=_MGDL),
                alt("<LLN - 3.0 mmol/L", ge("3.0"), lt("1", _LLN), unit=_MMOL),
            ),
            grade(
                2,
                alt("<55 - 40 mg/dL", ge("40"), lt("55"), unit=_MGDL),
                alt("<3.0 - 2.2 mmol/L", ge("2.2"), lt("3.0"), unit=_MMOL),
            ),
            grade(
                3,
                alt("<40 - 30 mg/dL", ge("30"), lt("40"), unit=_MGDL),
                alt("<2.2 - 1.7 mmol/L", ge("1.7"), lt("2.2"), unit=_MMOL),
            ),
            grade(
                4,
                alt("<30 mg/dL", lt("30"), unit=_MGDL),
                alt("<1.7 mmol/L", lt("1.7"), unit=_MMOL),
                clinical=("life-threatening consequences; seizures",),
            ),
            _DEATH,
        ),
        units=(_MGDL, _MMOL),
        valence=None,
    ),
    LabCriteria(
        term=LabTerm.HYPERURICEMIA,
        ctcae_term="Hyperuricemia",
        meddra_code="10020907",
        measurement="Uric acid",
        direction=Direction.HIGH,
        units=(_MGDL, u.MICROMOLE_PER_LITRE, _MMOL),
        grades=(
            grade(
                1,
                alt(
                    ">ULN without physiologic consequences",
                    gt("1", _ULN),
                    when=no(Fact.PHYSIOLOGIC_CONSEQUENCES),
                ),
            ),
            grade(
                3,
                alt(
                    ">ULN with physiologic consequences",
                    gt("1", _ULN),
                    when=yes(Fact.PHYSIOLOGIC_CONSEQUENCES),
                ),
            ),
            clinical_grade(4, "Life-threatening consequences"),
            _DEATH,
        ),
        # admiral ncictcaev5: hyperuricemia assumes grade 3 when consequences are unknown.
        worst_case=frozenset({Fact.PHYSIOLOGIC_CONSEQUENCES}),
    ),
    *(
        LabCriteria(
            term=term,
            ctcae_term=name,
            meddra_code=code,
            measurement="Blood pH",
            direction=direction,
            units=(u.ONE,),
            grades=(
                grade(1, g1),
                grade(3, g3),
                clinical_grade(4, "Life-threatening consequences"),
                _DEATH,
            ),
        )
        for term, name, code, direction, g1, g3 in (
            (
                LabTerm.ACIDOSIS,
                "Acidosis",
                "10000486",
                Direction.LOW,
                alt("pH <normal, but >=7.3", lt("1", _LLN), ge("7.3"), unit=u.ONE),
                alt("pH <7.3", lt("7.3"), unit=u.ONE),
            ),
            (
                LabTerm.ALKALOSIS,
                "Alkalosis",
                "10001680",
                Direction.HIGH,
                alt("pH >normal, but <=7.5", gt("1", _ULN), le("7.5"), unit=u.ONE),
                alt("pH >7.5", gt("7.5"), unit=u.ONE),
            ),
        )
    ),
    # --- Renal ---------------------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.CHRONIC_KIDNEY_DISEASE,
        ctcae_term="Chronic kidney disease",
        meddra_code="10064848",
        measurement="eGFR or creatinine clearance",
        direction=Direction.LOW,
        units=(u.GFR_UNIT,),
        grades=(
            grade(
                1,
                alt(
                    "eGFR (estimated Glomerular Filtration Rate) or CrCl (creatinine clearance) "
                    "<LLN - 60 ml/min/1.73 m2",
                    ge("60"),
                    lt("1", _LLN),
                    unit=u.GFR_UNIT,
                ),
                clinical=("proteinuria 2+ present", "urine protein/creatinine >0.5"),
            ),
            grade(
                2, alt("eGFR or CrCl 59 - 30 ml/min/1.73 m2", ge("30"), lt("60"), unit=u.GFR_UNIT)
            ),
            grade(
                3, alt("eGFR or CrCl 29 - 15 ml/min/1.73 m2", ge("15"), lt("30"), unit=u.GFR_UNIT)
            ),
            grade(
                4,
                alt("eGFR or CrCl <15 ml/min/1.73 m2", lt("15"), unit=u.GFR_UNIT),
                clinical=("dialysis or renal transplant indicated",),
            ),
            _DEATH,
        ),
        notes=(_INTEGER_RANGES,),
    ),
    LabCriteria(
        term=LabTerm.PROTEINURIA_DIPSTICK,
        ctcae_term="Proteinuria",
        meddra_code="10037032",
        measurement="Urine protein by dipstick (number of +)",
        direction=Direction.HIGH,
        units=(u.DIPSTICK_PLUS,),
        grades=(
            grade(1, alt("1+ proteinuria", eq("1", Measure.VALUE), unit=u.DIPSTICK_PLUS)),
            grade(
                2,
                alt(
                    "Adult: 2+ and 3+ proteinuria",
                    ge("2"),
                    le("3"),
                    unit=u.DIPSTICK_PLUS,
                    when=yes(Fact.ADULT),
                ),
            ),
            grade(
                3,
                alt(
                    "Adult: ... 4+ proteinuria", ge("4"), unit=u.DIPSTICK_PLUS, when=yes(Fact.ADULT)
                ),
            ),
        ),
        exclusions=(
            Exclusion(
                "paediatric grades 2 and 3 use the urine protein/creatinine ratio, not the "
                "dipstick",
                comparisons=(ge("2"),),
                requirements=no(Fact.ADULT),
                unit=u.DIPSTICK_PLUS,
            ),
        ),
        notes=("Navigational note: 24-hour urine collection takes precedence over dipstick.",),
    ),
    LabCriteria(
        term=LabTerm.PROTEINURIA_24_HOUR,
        ctcae_term="Proteinuria",
        meddra_code="10037032",
        measurement="Urinary protein, 24-hour collection",
        direction=Direction.HIGH,
        units=(u.GRAM_PER_DAY, u.MILLIGRAM_PER_DAY),
        grades=(
            grade(
                1,
                alt(
                    "urinary protein ≥ULN - <1.0 g/24 hrs",
                    ge("1", _ULN),
                    lt("1.0"),
                    unit=u.GRAM_PER_DAY,
                ),
            ),
            grade(
                2,
                alt(
                    "Adult: ... urinary protein 1.0 - <3.5 g/24 hrs",
                    ge("1.0"),
                    lt("3.5"),
                    unit=u.GRAM_PER_DAY,
                    when=yes(Fact.ADULT),
                ),
            ),
            grade(
                3,
                alt(
                    "Adult: Urinary protein >=3.5 g/24 hrs",
                    ge("3.5"),
                    unit=u.GRAM_PER_DAY,
                    when=yes(Fact.ADULT),
                ),
            ),
        ),
        exclusions=(
            Exclusion(
                "paediatric grades 2 and 3 use the urine protein/creatinine ratio",
                comparisons=(ge("1.0"),),
                requirements=no(Fact.ADULT),
                unit=u.GRAM_PER_DAY,
            ),
        ),
    ),
    LabCriteria(
        term=LabTerm.URINE_OUTPUT_DECREASED,
        ctcae_term="Urine output decreased",
        meddra_code="10059895",
        measurement="Urine volume over a collection period",
        direction=Direction.LOW,
        units=(u.MILLILITRE, u.LITRE),
        grades=(
            grade(
                3,
                alt(
                    "Adult: Oliguria (<80 ml in 8 hr)",
                    lt("80"),
                    eq("8", Measure.COLLECTION_HOURS),
                    unit=u.MILLILITRE,
                    when=yes(Fact.ADULT),
                ),
            ),
            grade(
                4,
                alt(
                    "Adult: Anuria (<240 ml in 24 hr)",
                    lt("240"),
                    eq("24", Measure.COLLECTION_HOURS),
                    unit=u.MILLILITRE,
                    when=yes(Fact.ADULT),
                ),
            ),
        ),
        exclusions=(
            Exclusion(
                "NCI defines oliguria on an 8-hour and anuria on a 24-hour collection; other "
                "collection periods cannot be graded",
                comparisons=(ne("8", Measure.COLLECTION_HOURS), ne("24", Measure.COLLECTION_HOURS)),
            ),
            Exclusion(
                "paediatric urine output criteria depend on weight or body surface area",
                requirements=no(Fact.ADULT),
            ),
        ),
        notes=(
            "Each collection answers the criterion written for its period: an 8-hour collection "
            "grade 3 (oliguria), a 24-hour collection grade 4 (anuria).",
        ),
    ),
    # --- Vital signs ---------------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.FEVER,
        ctcae_term="Fever",
        meddra_code="10016558",
        measurement="Body temperature",
        direction=Direction.HIGH,
        units=_TEMPERATURE_UNITS,
        grades=(
            grade(
                1,
                alt(
                    "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
                    ge("38.0"),
                    le("39.0"),
                    unit=u.CELSIUS,
                ),
            ),
            grade(
                2,
                alt(
                    ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
                    gt("39.0"),
                    le("40.0"),
                    unit=u.CELSIUS,
                ),
            ),
            grade(
                3,
                alt(
                    ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
                    gt("40.0"),
                    unit=u.CELSIUS,
                    when=no(Fact.ABOVE_40_CELSIUS_OVER_24_HOURS),
                ),
            ),
            grade(
                4,
                alt(
                    ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
                    gt("40.0"),
                    unit=u.CELSIUS,
                    when=yes(Fact.ABOVE_40_CELSIUS_OVER_24_HOURS),
                ),
            ),
            _DEATH,
        ),
        notes=(
            "°F values are converted exactly to °C; NCI's °F numbers are the same thresholds "
            "(102.3 °F is its rounding of '>39.0 °C').",
        ),
    ),
    LabCriteria(
        term=LabTerm.HYPOTHERMIA,
        ctcae_term="Hypothermia",
        meddra_code="10021113",
        measurement="Body temperature",
        direction=Direction.LOW,
        units=_TEMPERATURE_UNITS,
        grades=(
            grade(
                2,
                alt("35 - >32 degrees C; 95 - >89.6 degrees F", gt("32"), le("35"), unit=u.CELSIUS),
            ),
            grade(
                3,
                alt(
                    "32 - >28 degrees C; 89.6 - >82.4 degrees F", gt("28"), le("32"), unit=u.CELSIUS
                ),
            ),
            grade(
                4,
                alt("<=28 degrees C; 82.4 degrees F", le("28"), unit=u.CELSIUS),
                clinical=(
                    "life-threatening consequences (e.g., coma, hypotension, pulmonary edema, "
                    "acidemia, ventricular fibrillation)",
                ),
            ),
            _DEATH,
        ),
    ),
    LabCriteria(
        term=LabTerm.HYPOXIA_OXYGEN_SATURATION,
        ctcae_term="Hypoxia",
        meddra_code="10021143",
        measurement="Oxygen saturation (pulse oximetry or SaO2)",
        direction=Direction.LOW,
        units=_PERCENT_UNITS,
        grades=(
            grade(
                2,
                alt(
                    "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%)",
                    lt("88"),
                    unit=u.PERCENT,
                    when=no(Fact.AT_REST),
                ),
                clinical=("intermittent supplemental oxygen",),
            ),
            grade(
                3,
                alt(
                    "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% ...)",
                    lt("88"),
                    unit=u.PERCENT,
                    when=yes(Fact.AT_REST),
                ),
            ),
            clinical_grade(
                4,
                "Life-threatening airway compromise; urgent intervention indicated (e.g., "
                "tracheotomy or intubation)",
            ),
            _DEATH,
        ),
        notes=(
            "NCI gives SpO2 <88% as an example ('e.g.'); it is the default rule and the "
            "investigator may grade otherwise (CTCAE-CLINICAL-TERMS.md §3).",
        ),
    ),
    LabCriteria(
        term=LabTerm.HYPOXIA_ARTERIAL_PO2,
        ctcae_term="Hypoxia",
        meddra_code="10021143",
        measurement="Arterial PO2",
        direction=Direction.LOW,
        units=(u.MILLIMETRE_OF_MERCURY, u.KILOPASCAL),
        grades=(
            clinical_grade(
                2,
                "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
                "intermittent supplemental oxygen",
            ),
            grade(
                3,
                alt(
                    "Decreased oxygen saturation at rest (e.g., ... PaO2 <=55 mm Hg)",
                    le("55"),
                    unit=u.MILLIMETRE_OF_MERCURY,
                ),
            ),
            clinical_grade(
                4,
                "Life-threatening airway compromise; urgent intervention indicated (e.g., "
                "tracheotomy or intubation)",
            ),
            _DEATH,
        ),
        notes=("kPa is converted with 1 kPa = 7.50062 mm Hg (OUTCOMES.md §4.2).",),
    ),
    *(
        LabCriteria(
            term=term,
            ctcae_term="Hypertension",
            meddra_code="10020772",
            measurement=measurement,
            direction=Direction.HIGH,
            units=(u.MILLIMETRE_OF_MERCURY,),
            grades=(
                grade(
                    1,
                    alt(
                        g1_text,
                        ge(g1_low),
                        le(g1_high),
                        unit=u.MILLIMETRE_OF_MERCURY,
                        when=yes(Fact.ADULT),
                    ),
                ),
                grade(
                    2,
                    alt(
                        g2_text,
                        gt(g1_high),
                        le(g2_high),
                        unit=u.MILLIMETRE_OF_MERCURY,
                        when=(
                            Requirement(Fact.ADULT, True),
                            Requirement(Fact.PREVIOUSLY_NORMAL, True),
                        ),
                    ),
                    clinical=(
                        "change in baseline medical intervention indicated",
                        "recurrent or persistent (>=24 hrs)",
                        "symptomatic increase by >20 mm Hg (diastolic) or to >140/90 mm Hg",
                        "monotherapy indicated initiated",
                    ),
                ),
                grade(
                    3,
                    alt(g3_text, gt(g2_high), unit=u.MILLIMETRE_OF_MERCURY, when=yes(Fact.ADULT)),
                    clinical=(
                        "medical intervention indicated",
                        "more than one drug or more intensive therapy than previously used "
                        "indicated",
                    ),
                ),
                clinical_grade(
                    4,
                    "Life-threatening consequences (e.g., malignant hypertension, transient or "
                    "permanent neurologic deficit, hypertensive crisis); urgent intervention "
                    "indicated",
                ),
                _DEATH,
            ),
            exclusions=(
                Exclusion(
                    "paediatric and adolescent hypertension is graded by percentiles for age, sex "
                    "and height, which this grader does not hold",
                    requirements=no(Fact.ADULT),
                ),
                Exclusion(
                    f"'{g2_text}': the pressure is grade 2 only if it was previously within "
                    "normal limits; otherwise the grade follows the treatment criteria",
                    comparisons=(gt(g1_high), le(g2_high)),
                    requirements=(
                        Requirement(Fact.ADULT, True),
                        Requirement(Fact.PREVIOUSLY_NORMAL, False),
                    ),
                    unit=u.MILLIMETRE_OF_MERCURY,
                ),
            ),
            notes=(
                _INTEGER_RANGES,
                "Systolic and diastolic pressure are graded separately; the event's grade is the "
                "higher of the two ('Systolic … or diastolic …').",
            ),
        )
        for term, measurement, g1_low, g1_high, g2_high, g1_text, g2_text, g3_text in (
            (
                LabTerm.HYPERTENSION_SYSTOLIC,
                "Systolic blood pressure",
                "120",
                "139",
                "159",
                "Adult: Systolic BP 120 - 139 mm Hg",
                "Adult: Systolic BP 140 - 159 mm Hg ... if previously WNL",
                "Adult: Systolic BP >=160 mm Hg",
            ),
            (
                LabTerm.HYPERTENSION_DIASTOLIC,
                "Diastolic blood pressure",
                "80",
                "89",
                "99",
                "Adult: ... diastolic BP 80 - 89 mm Hg",
                "Adult: ... diastolic BP 90 - 99 mm Hg if previously WNL",
                "Adult: ... diastolic BP >=100 mm Hg",
            ),
        )
    ),
    LabCriteria(
        term=LabTerm.QTC_INTERVAL_PROLONGED,
        ctcae_term="Electrocardiogram QT corrected interval prolonged",
        meddra_code="10014383",
        measurement="Average QTc",
        direction=Direction.HIGH,
        units=(u.MILLISECOND, u.SECOND),
        grades=(
            grade(1, alt("Average QTc 450 - 480 ms", ge("450"), le("480"), unit=u.MILLISECOND)),
            grade(2, alt("Average QTc 481 - 500 ms", gt("480"), le("500"), unit=u.MILLISECOND)),
            grade(
                3,
                alt("Average QTc >= 501 ms", gt("500"), unit=u.MILLISECOND),
                alt(
                    ">60 ms change from baseline",
                    gt("60", measure=Measure.INCREASE_OVER_BASELINE),
                    unit=u.MILLISECOND,
                ),
            ),
            clinical_grade(
                4,
                "Torsade de pointes; polymorphic ventricular tachycardia; signs/symptoms of "
                "serious arrhythmia",
            ),
        ),
        notes=(_INTEGER_RANGES, "'Change from baseline' is read as a prolongation (increase)."),
    ),
    LabCriteria(
        term=LabTerm.EJECTION_FRACTION_DECREASED,
        ctcae_term="Ejection fraction decreased",
        meddra_code="10050528",
        measurement="Resting left ventricular ejection fraction",
        direction=Direction.LOW,
        units=_PERCENT_UNITS,
        grades=(
            grade(
                2,
                alt("Resting ejection fraction (EF) 50 - 40%", ge("40"), le("50"), unit=u.PERCENT),
                alt(
                    "10 - 19% drop from baseline",
                    ge("10", measure=Measure.DECREASE_FROM_BASELINE),
                    le("19", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.PERCENT,
                ),
            ),
            grade(
                3,
                alt("Resting ejection fraction (EF) 39 - 20%", ge("20"), lt("40"), unit=u.PERCENT),
                alt(
                    ">=20% drop from baseline",
                    gt("19", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.PERCENT,
                ),
            ),
            grade(4, alt("Resting ejection fraction (EF) <20%", lt("20"), unit=u.PERCENT)),
        ),
        notes=(
            _INTEGER_RANGES,
            "A '% drop from baseline' of an ejection fraction is read in percentage points "
            "(60% → 50% is a 10% drop), as cardio-oncology reports LVEF declines.",
        ),
    ),
    LabCriteria(
        term=LabTerm.WEIGHT_LOSS,
        ctcae_term="Weight loss",
        meddra_code="10047900",
        measurement="Body weight",
        direction=Direction.LOW,
        units=(u.KILOGRAM, u.POUND),
        grades=(
            grade(
                1,
                alt(
                    "5 to <10% from baseline",
                    ge("5", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    lt("10", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                ),
            ),
            grade(
                2,
                alt(
                    "10 - <20% from baseline",
                    ge("10", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                    lt("20", measure=Measure.PERCENT_DECREASE_FROM_BASELINE),
                ),
                clinical=("nutritional support indicated",),
            ),
            grade(
                3,
                alt(
                    ">=20% from baseline", ge("20", measure=Measure.PERCENT_DECREASE_FROM_BASELINE)
                ),
                clinical=("tube feeding or TPN indicated",),
            ),
        ),
    ),
    LabCriteria(
        term=LabTerm.WEIGHT_GAIN,
        ctcae_term="Weight gain",
        meddra_code="10047896",
        measurement="Body weight",
        direction=Direction.HIGH,
        units=(u.KILOGRAM, u.POUND),
        grades=(
            grade(
                1,
                alt(
                    "5 - <10% from baseline",
                    ge("5", measure=Measure.PERCENT_INCREASE_FROM_BASELINE),
                    lt("10", measure=Measure.PERCENT_INCREASE_FROM_BASELINE),
                ),
            ),
            grade(
                2,
                alt(
                    "10 - <20% from baseline",
                    ge("10", measure=Measure.PERCENT_INCREASE_FROM_BASELINE),
                    lt("20", measure=Measure.PERCENT_INCREASE_FROM_BASELINE),
                ),
            ),
            grade(
                3,
                alt(
                    ">=20% from baseline", ge("20", measure=Measure.PERCENT_INCREASE_FROM_BASELINE)
                ),
            ),
        ),
    ),
    # --- Pulmonary function --------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.FORCED_EXPIRATORY_VOLUME_DECREASED,
        ctcae_term="Forced expiratory volume decreased",
        meddra_code="10016987",
        measurement="FEV1, % of predicted",
        direction=Direction.LOW,
        units=_PERCENT_UNITS,
        grades=(
            grade(1, alt("FEV1% ... 99 - 70% predicted", ge("70"), le("99"), unit=u.PERCENT)),
            grade(2, alt("FEV1 60 - 69%", ge("60"), lt("70"), unit=u.PERCENT)),
            grade(3, alt("50 - 59%", ge("50"), lt("60"), unit=u.PERCENT)),
            grade(4, alt("<= 49%", lt("50"), unit=u.PERCENT)),
        ),
        notes=(_INTEGER_RANGES,),
    ),
    LabCriteria(
        term=LabTerm.CARBON_MONOXIDE_DIFFUSING_CAPACITY_DECREASED,
        ctcae_term="Carbon monoxide diffusing capacity decreased",
        meddra_code="10065906",
        measurement="DLCO (absolute, not % predicted)",
        direction=Direction.LOW,
        units=(u.DLCO_TRADITIONAL, u.DLCO_SI),
        grades=(
            grade(
                1,
                alt(
                    "3 - 5 units below LLN; ... asymptomatic and intervention not indicated",
                    ge("3", measure=Measure.DECREASE_BELOW_LLN),
                    le("5", measure=Measure.DECREASE_BELOW_LLN),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, False),
                        Requirement(Fact.PULMONARY_SYMPTOMS, False),
                    ),
                ),
                alt(
                    "for follow-up, a decrease of 3 - 5 units (ml/min/mm Hg) below the baseline "
                    "value; asymptomatic",
                    ge("3", measure=Measure.DECREASE_FROM_BASELINE),
                    le("5", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, True),
                        Requirement(Fact.PULMONARY_SYMPTOMS, False),
                    ),
                ),
            ),
            grade(
                2,
                alt(
                    "6 - 8 units below LLN",
                    gt("5", measure=Measure.DECREASE_BELOW_LLN),
                    le("8", measure=Measure.DECREASE_BELOW_LLN),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, False),
                        Requirement(Fact.PULMONARY_SYMPTOMS, False),
                    ),
                ),
                alt(
                    "for follow-up, an asymptomatic decrease of >5 - 8 units (ml/min/mm Hg) below "
                    "the baseline value",
                    gt("5", measure=Measure.DECREASE_FROM_BASELINE),
                    le("8", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, True),
                        Requirement(Fact.PULMONARY_SYMPTOMS, False),
                    ),
                ),
                alt(
                    "3 - 5 units below LLN; symptomatic and intervention not indicated",
                    ge("3", measure=Measure.DECREASE_BELOW_LLN),
                    le("5", measure=Measure.DECREASE_BELOW_LLN),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, False),
                        Requirement(Fact.PULMONARY_SYMPTOMS, True),
                    ),
                ),
                alt(
                    "a decrease of 3 - 5 units (ml/min/mm Hg) below the baseline value; "
                    "symptomatic and intervention not indicated",
                    ge("3", measure=Measure.DECREASE_FROM_BASELINE),
                    le("5", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, True),
                        Requirement(Fact.PULMONARY_SYMPTOMS, True),
                    ),
                ),
            ),
            grade(
                3,
                alt(
                    "Asymptomatic decrease of >8 units drop",
                    gt("8", measure=Measure.DECREASE_BELOW_LLN),
                    unit=u.DLCO_TRADITIONAL,
                    when=(Requirement(Fact.HAS_BASELINE, False),),
                ),
                alt(
                    "Asymptomatic decrease of >8 units drop",
                    gt("8", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.DLCO_TRADITIONAL,
                    when=yes(Fact.HAS_BASELINE),
                ),
                alt(
                    ">5 units drop along with the presence of pulmonary symptoms",
                    gt("5", measure=Measure.DECREASE_BELOW_LLN),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, False),
                        Requirement(Fact.PULMONARY_SYMPTOMS, True),
                    ),
                ),
                alt(
                    ">5 units drop along with the presence of pulmonary symptoms",
                    gt("5", measure=Measure.DECREASE_FROM_BASELINE),
                    unit=u.DLCO_TRADITIONAL,
                    when=(
                        Requirement(Fact.HAS_BASELINE, True),
                        Requirement(Fact.PULMONARY_SYMPTOMS, True),
                    ),
                ),
                clinical=("intervention indicated",),
            ),
        ),
        notes=(
            "Units are ml/min/mm Hg below LLN or below baseline, never % predicted; "
            "1 mmol/min/kPa = 2.986 ml/min/mm Hg.",
            "'For follow-up': with a baseline DLCO the decrease from baseline grades; without one, "
            "the distance below LLN.",
            "'3 - 5 units below LLN' and '6 - 8' are read as [3, 5] and (5, 8] (grade 3 starts "
            "'>8'), the same bands as the follow-up arms '3 - 5' and '>5 - 8' below baseline; "
            "'symptomatic and intervention not indicated' makes a 3–5 unit decrease grade 2.",
            "Pulmonary symptoms (e.g. >grade 2 hypoxia or dyspnea) are an input; unknown "
            "symptoms leave the grade open rather than assumed.",
        ),
    ),
    LabCriteria(
        term=LabTerm.VITAL_CAPACITY_ABNORMAL,
        ctcae_term="Vital capacity abnormal",
        meddra_code="10047580",
        measurement="Vital capacity, % of predicted",
        direction=Direction.LOW,
        units=_PERCENT_UNITS,
        grades=(
            grade(1, alt("90 - 75% of predicted value", ge("75"), le("90"), unit=u.PERCENT)),
            grade(
                2,
                alt("<75 - 50% of predicted value", ge("50"), lt("75"), unit=u.PERCENT),
                clinical=("limiting instrumental ADL",),
            ),
            grade(
                3,
                alt("<50% of predicted value", lt("50"), unit=u.PERCENT),
                clinical=("limiting self care ADL",),
            ),
        ),
        notes=(_INTEGER_RANGES,),
    ),
    # --- Immune --------------------------------------------------------------------------------
    LabCriteria(
        term=LabTerm.CYTOKINE_RELEASE_SYNDROME_OXYGEN,
        ctcae_term="Cytokine release syndrome",
        meddra_code="10052015",
        measurement="FiO2 of the supplemental oxygen the hypoxia needs",
        direction=Direction.HIGH,
        units=_PERCENT_UNITS,
        grades=(
            clinical_grade(1, "Fever with or without constitutional symptoms"),
            grade(
                2,
                # Room air is FiO2 21% (OUTCOMES.md §4.2); more than that is supplemental oxygen.
                alt("hypoxia responding to <40% O2", gt("21"), lt("40"), unit=u.PERCENT),
                clinical=("Hypotension responding to fluids",),
            ),
            grade(
                3,
                alt("hypoxia requiring ≥ 40% O2", ge("40"), unit=u.PERCENT),
                clinical=("Hypotension managed with one pressor",),
            ),
            _G4_LIFE_THREATENING,
            _DEATH,
        ),
        notes=("CTCAE v6.0 replaces the 40% cut with device types; this is the v5.0 rule.",),
    ),
)


CRITERIA: Final[Mapping[LabTerm, LabCriteria]] = MappingProxyType(
    {criteria.term: criteria for criteria in _TABLE}
)

if len(CRITERIA) != len(_TABLE) or set(CRITERIA) != set(LabTerm):
    raise RuntimeError("every LabTerm needs exactly one criteria record")
