"""CTCAE v5.0 grades proposed from structured answers: respiratory, infusion and immune terms.

Terms: Pneumonitis, Dyspnea, Cough, Hypoxia, Infusion related reaction, Allergic reaction,
Anaphylaxis, Cytokine release syndrome and Fever. The grade text is NCI's (quoted with each
criterion; CTCAE-CLINICAL-TERMS.md §2); the questions are the structured features that separate
the grades (§3). Rules of reading:

- Grades are tried from 5 down to 1; the first whose criterion holds is proposed.
- A semicolon in NCI's text means "or" (CTCAE v5.0 front matter), so each listed feature is enough
  on its own: Pneumonitis grade 2 is "Symptomatic; medical intervention indicated; limiting
  instrumental ADL". (The reference's own summary, "symptoms plus medical intervention or iADL",
  would leave a symptomatic pneumonitis without treatment in no grade at all.)
- An unanswered question that could change the grade leaves it open: the result lists the grades
  still possible and the questions to answer. Nothing is assumed.
- Infusion related reaction, Allergic reaction, Anaphylaxis, Cytokine release syndrome and Fever
  overlap (CTCAE-CLINICAL-TERMS.md §4); when the answers fit more than one of them the result
  carries an `OverlapFlag` naming the candidates and why, for the investigator to choose.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any, Final

CTCAE_VERSION: Final = "5.0"

# Above this many combinations of unanswered questions the grade range is taken from the
# three-valued pass alone (a superset of the exact range; never a narrower one).
_MAX_COMBINATIONS: Final = 4096
# Values just either side of a threshold when enumerating an unanswered numeric question.
_EPSILON: Final = Decimal("0.000001")


class ClinicalTerm(StrEnum):
    PNEUMONITIS = "pneumonitis"
    DYSPNEA = "dyspnea"
    COUGH = "cough"
    HYPOXIA = "hypoxia"
    INFUSION_RELATED_REACTION = "infusion_related_reaction"
    ALLERGIC_REACTION = "allergic_reaction"
    ANAPHYLAXIS = "anaphylaxis"
    CYTOKINE_RELEASE_SYNDROME = "cytokine_release_syndrome"
    FEVER = "fever"


class AnswerType(StrEnum):
    BOOLEAN = "boolean"
    CHOICE = "choice"
    DECIMAL = "decimal"


class AdlLimitation(StrEnum):
    """Activities of daily living limited by the event (CTCAE v5.0 front matter)."""

    NONE = "none"
    INSTRUMENTAL = "instrumental"
    SELF_CARE = "self_care"


class Severity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Exertion(StrEnum):
    """The least effort at which the subject is short of breath."""

    NONE = "none"
    MODERATE = "moderate_exertion"
    MINIMAL = "minimal_exertion"
    AT_REST = "at_rest"


class OxygenNeed(StrEnum):
    """Supplemental oxygen newly needed, or increased over baseline, because of the event."""

    NONE = "none"
    INTERMITTENT = "intermittent"
    CONTINUOUS = "continuous"


class HypotensionManagement(StrEnum):
    NONE = "none"
    FLUIDS = "responded_to_fluids"
    ONE_PRESSOR = "one_pressor"
    MORE_THAN_ONE_PRESSOR = "more_than_one_pressor"


@dataclass(frozen=True)
class Question:
    """One question of a term's form, as an API serves it."""

    id: str
    text: str
    answer_type: AnswerType
    choices: tuple[str, ...] = ()
    unit: str | None = None


def _bool(question_id: str, text: str) -> Question:
    return Question(question_id, text, AnswerType.BOOLEAN)


def _choice(question_id: str, text: str, choices: type[StrEnum]) -> Question:
    return Question(question_id, text, AnswerType.CHOICE, tuple(c.value for c in choices))


def _decimal(question_id: str, text: str, unit: str) -> Question:
    return Question(question_id, text, AnswerType.DECIMAL, unit=unit)


# CTCAE-CLINICAL-TERMS.md §3, "What this means for the questionnaire and the engine".
QUESTIONS: Final[Mapping[str, Question]] = MappingProxyType(
    {
        q.id: q
        for q in (
            _bool("death", "Did the subject die of this event?"),
            _bool("life_threatening", "Were the consequences life-threatening?"),
            _bool(
                "urgent_intervention",
                "Was urgent intervention indicated (e.g. intubation, tracheotomy, mechanical or "
                "non-invasive ventilation)?",
            ),
            _bool("symptomatic", "Is the subject symptomatic?"),
            _choice("severity", "How severe are the symptoms (none if asymptomatic)?", Severity),
            _choice(
                "adl_limitation",
                "Which activities of daily living does the event limit (instrumental: meals, "
                "shopping, telephone, money; self-care: bathing, dressing, feeding, toilet, "
                "medications, not bedridden)?",
                AdlLimitation,
            ),
            _bool(
                "medical_intervention",
                "Is medical (prescription) intervention indicated, e.g. corticosteroids?",
            ),
            _bool("nonprescription_intervention", "Is a non-prescription remedy indicated?"),
            _choice(
                "oxygen",
                "Is supplemental oxygen newly needed, or increased over the subject's baseline, "
                "because of this event?",
                OxygenNeed,
            ),
            _choice(
                "exertion",
                "At what level of exertion is the subject short of breath?",
                Exertion,
            ),
            _bool(
                "desaturation_at_rest",
                "Is oxygen saturation decreased at rest (e.g. pulse oximeter <88% or PaO2 "
                "≤55 mm Hg)?",
            ),
            _bool(
                "desaturation_with_exercise",
                "Is oxygen saturation decreased with exercise (e.g. pulse oximeter <88%)?",
            ),
            _decimal("spo2_at_rest_percent", "SpO2 at rest", "%"),
            _decimal("spo2_with_exercise_percent", "Lowest SpO2 with exercise", "%"),
            _decimal("pao2_mmhg", "PaO2 at rest", "mm[Hg]"),
            _bool("infusion_interrupted", "Was the infusion interrupted?"),
            _bool(
                "symptomatic_treatment",
                "Was therapy given for the reaction (e.g. antihistamines, NSAIDs, narcotics, IV "
                "fluids)?",
            ),
            _bool(
                "prompt_response",
                "Did the reaction respond promptly to symptomatic treatment and/or a brief "
                "interruption of the infusion?",
            ),
            _bool(
                "recurrence_after_improvement",
                "Did symptoms recur after initial improvement?",
            ),
            _bool(
                "hospitalization",
                "Was hospitalization (new or prolonged) indicated for clinical sequelae of this "
                "event?",
            ),
            _bool(
                "prophylaxis_up_to_24_hours",
                "Are prophylactic medications indicated for ≤24 hours?",
            ),
            _bool("systemic_intervention", "Is systemic intervention indicated?"),
            _bool("oral_intervention", "Is oral intervention indicated?"),
            _bool("intravenous_intervention", "Is intravenous intervention indicated?"),
            _bool(
                "parenteral_intervention",
                "Is parenteral intervention indicated (e.g. IM epinephrine, IV)?",
            ),
            _choice(
                "hypotension_management",
                "How was hypotension managed?",
                HypotensionManagement,
            ),
            _decimal(
                "oxygen_fio2_percent",
                "FiO2 the hypoxia needs (21% = room air, no supplemental oxygen)",
                "%",
            ),
            _decimal("peak_temperature_celsius", "Highest temperature", "Cel"),
            _decimal("hours_above_40_celsius", "Hours with temperature above 40.0 °C", "h"),
            # Signs shared by the infusion / allergic / anaphylaxis / CRS / fever terms, for the
            # overlap flag (CTCAE-CLINICAL-TERMS.md §4, "Picking the term").
            _bool(
                "began_with_infusion",
                "Did the event begin during an infusion or within 24 hours after it?",
            ),
            _bool("fever", "Fever (temperature ≥38.0 °C)?"),
            _bool("hypotension", "Hypotension?"),
            _bool("hypoxia", "Hypoxia?"),
            _bool("bronchospasm", "Symptomatic bronchospasm?"),
            _bool("urticaria", "Urticaria?"),
            _bool("angioedema", "Allergy-related edema or angioedema?"),
        )
    }
)


# --- typed answers (None = not answered) -------------------------------------------------------


@dataclass(frozen=True)
class ReactionSigns:
    """Signs that decide which of the overlapping reaction terms fit (for the overlap flag)."""

    began_with_infusion: bool | None = None
    fever: bool | None = None
    hypotension: bool | None = None
    hypoxia: bool | None = None
    bronchospasm: bool | None = None
    urticaria: bool | None = None
    angioedema: bool | None = None


@dataclass(frozen=True)
class Outcome:
    death: bool | None = None
    life_threatening: bool | None = None
    urgent_intervention: bool | None = None


@dataclass(frozen=True)
class PneumonitisAnswers(Outcome):
    symptomatic: bool | None = None
    severity: Severity | None = None
    adl_limitation: AdlLimitation | None = None
    medical_intervention: bool | None = None
    oxygen: OxygenNeed | None = None


@dataclass(frozen=True)
class DyspneaAnswers(Outcome):
    exertion: Exertion | None = None
    adl_limitation: AdlLimitation | None = None


@dataclass(frozen=True)
class CoughAnswers:
    severity: Severity | None = None
    adl_limitation: AdlLimitation | None = None
    medical_intervention: bool | None = None
    nonprescription_intervention: bool | None = None


@dataclass(frozen=True)
class HypoxiaAnswers(Outcome):
    desaturation_at_rest: bool | None = None
    desaturation_with_exercise: bool | None = None
    oxygen: OxygenNeed | None = None
    spo2_at_rest_percent: Decimal | None = None
    spo2_with_exercise_percent: Decimal | None = None
    pao2_mmhg: Decimal | None = None


@dataclass(frozen=True)
class InfusionRelatedReactionAnswers(Outcome, ReactionSigns):
    infusion_interrupted: bool | None = None
    symptomatic_treatment: bool | None = None
    prompt_response: bool | None = None
    recurrence_after_improvement: bool | None = None
    hospitalization: bool | None = None
    prophylaxis_up_to_24_hours: bool | None = None


@dataclass(frozen=True)
class AllergicReactionAnswers(Outcome, ReactionSigns):
    systemic_intervention: bool | None = None
    oral_intervention: bool | None = None
    intravenous_intervention: bool | None = None
    hospitalization: bool | None = None


@dataclass(frozen=True)
class AnaphylaxisAnswers(Outcome, ReactionSigns):
    parenteral_intervention: bool | None = None


@dataclass(frozen=True)
class CytokineReleaseSyndromeAnswers(Outcome, ReactionSigns):
    hypotension_management: HypotensionManagement | None = None
    oxygen_fio2_percent: Decimal | None = None


@dataclass(frozen=True)
class FeverAnswers(ReactionSigns):
    death: bool | None = None
    peak_temperature_celsius: Decimal | None = None
    hours_above_40_celsius: Decimal | None = None


Answers = (
    PneumonitisAnswers
    | DyspneaAnswers
    | CoughAnswers
    | HypoxiaAnswers
    | InfusionRelatedReactionAnswers
    | AllergicReactionAnswers
    | AnaphylaxisAnswers
    | CytokineReleaseSyndromeAnswers
    | FeverAnswers
)

ANSWER_MODELS: Final[Mapping[ClinicalTerm, type[Answers]]] = MappingProxyType(
    {
        ClinicalTerm.PNEUMONITIS: PneumonitisAnswers,
        ClinicalTerm.DYSPNEA: DyspneaAnswers,
        ClinicalTerm.COUGH: CoughAnswers,
        ClinicalTerm.HYPOXIA: HypoxiaAnswers,
        ClinicalTerm.INFUSION_RELATED_REACTION: InfusionRelatedReactionAnswers,
        ClinicalTerm.ALLERGIC_REACTION: AllergicReactionAnswers,
        ClinicalTerm.ANAPHYLAXIS: AnaphylaxisAnswers,
        ClinicalTerm.CYTOKINE_RELEASE_SYNDROME: CytokineReleaseSyndromeAnswers,
        ClinicalTerm.FEVER: FeverAnswers,
    }
)


def questions_for(term: ClinicalTerm) -> tuple[Question, ...]:
    """The form of a term: one question per field of its answer model; outcome questions first,
    then the term's own, then the reaction signs used for the overlap flag."""
    names = [field.name for field in fields(ANSWER_MODELS[term])]
    outcome = {field.name for field in fields(Outcome)} | {"death"}
    signs = {field.name for field in fields(ReactionSigns)}
    ordered = (
        [n for n in names if n in outcome]
        + [n for n in names if n not in outcome and n not in signs]
        + [n for n in names if n in signs]
    )
    return tuple(QUESTIONS[name] for name in ordered)


# --- conditions --------------------------------------------------------------------------------


class _Op(Enum):
    GT = ">"
    GE = "≥"
    LT = "<"
    LE = "≤"


@dataclass(frozen=True)
class _Is:
    question: str
    values: frozenset[object]


@dataclass(frozen=True)
class _Compare:
    question: str
    op: _Op
    number: Decimal


@dataclass(frozen=True)
class _All:
    parts: tuple[_Condition, ...]


@dataclass(frozen=True)
class _Any:
    parts: tuple[_Condition, ...]


_Condition = _Is | _Compare | _All | _Any


def _yes(question: str) -> _Is:
    return _Is(question, frozenset({True}))


def _no(question: str) -> _Is:
    return _Is(question, frozenset({False}))


def _is(question: str, *values: object) -> _Is:
    return _Is(question, frozenset(values))


def _cmp(question: str, op: _Op, number: str) -> _Compare:
    return _Compare(question, op, Decimal(number))


def _all(*parts: _Condition) -> _All:
    return _All(parts)


def _any(*parts: _Condition) -> _Any:
    return _Any(parts)


class _Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class _Evaluation:
    truth: _Truth
    decided_by: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()


def _evaluate(condition: _Condition, answers: Mapping[str, object]) -> _Evaluation:
    if isinstance(condition, _Is | _Compare):
        answer = answers.get(condition.question)
        if answer is None:
            return _Evaluation(_Truth.UNKNOWN, missing=frozenset({condition.question}))
        if isinstance(condition, _Is):
            holds = answer in condition.values
        else:
            holds = _compare(answer, condition.op, condition.number)
        truth = _Truth.TRUE if holds else _Truth.FALSE
        return _Evaluation(truth, decided_by=frozenset({condition.question}))
    parts = [_evaluate(part, answers) for part in condition.parts]
    decisive = _Truth.FALSE if isinstance(condition, _All) else _Truth.TRUE
    hits = [part for part in parts if part.truth is decisive]
    if hits:
        return _Evaluation(decisive, decided_by=frozenset().union(*(p.decided_by for p in hits)))
    unknown = [part for part in parts if part.truth is _Truth.UNKNOWN]
    if unknown:
        return _Evaluation(_Truth.UNKNOWN, missing=frozenset().union(*(p.missing for p in unknown)))
    other = _Truth.TRUE if decisive is _Truth.FALSE else _Truth.FALSE
    return _Evaluation(other, decided_by=frozenset().union(*(p.decided_by for p in parts)))


def _compare(answer: object, op: _Op, number: Decimal) -> bool:
    if not isinstance(answer, Decimal | int):
        raise TypeError(f"a numeric answer is needed, not {answer!r}")
    value = Decimal(answer)
    match op:
        case _Op.GT:
            return value > number
        case _Op.GE:
            return value >= number
        case _Op.LT:
            return value < number
        case _Op.LE:
            return value <= number


def _questions_in(condition: _Condition) -> Iterable[_Is | _Compare]:
    if isinstance(condition, _Is | _Compare):
        yield condition
    else:
        for part in condition.parts:
            yield from _questions_in(part)


@dataclass(frozen=True)
class _Criterion:
    grade: int
    text: str
    condition: _Condition


@dataclass(frozen=True)
class _TermRules:
    term: ClinicalTerm
    ctcae_term: str
    meddra_code: str
    criteria: tuple[_Criterion, ...]  # most severe first


_DEATH: Final = _Criterion(5, "Death", _yes("death"))


def _life_threatening(text: str) -> _Criterion:
    return _Criterion(4, text, _any(_yes("life_threatening"), _yes("urgent_intervention")))


_LIFE_THREATENING: Final = "Life-threatening consequences; urgent intervention indicated"

# CTCAE v5.0 grade text (CTCAE-CLINICAL-TERMS.md §2) and the answers that make it hold.
_RULES: Final[Mapping[ClinicalTerm, _TermRules]] = MappingProxyType(
    {
        rules.term: rules
        for rules in (
            _TermRules(
                ClinicalTerm.PNEUMONITIS,
                "Pneumonitis",
                "10035742",
                (
                    _DEATH,
                    _life_threatening(
                        "Life-threatening respiratory compromise; urgent intervention indicated "
                        "(e.g., tracheotomy or intubation)"
                    ),
                    _Criterion(
                        3,
                        "Severe symptoms; limiting self care ADL; oxygen indicated",
                        _any(
                            _is("severity", Severity.SEVERE),
                            _is("adl_limitation", AdlLimitation.SELF_CARE),
                            _is("oxygen", OxygenNeed.INTERMITTENT, OxygenNeed.CONTINUOUS),
                        ),
                    ),
                    _Criterion(
                        2,
                        "Symptomatic; medical intervention indicated; limiting instrumental ADL",
                        _any(
                            _yes("symptomatic"),
                            _yes("medical_intervention"),
                            _is("adl_limitation", AdlLimitation.INSTRUMENTAL),
                        ),
                    ),
                    _Criterion(
                        1,
                        "Asymptomatic; clinical or diagnostic observations only; intervention "
                        "not indicated",
                        _no("symptomatic"),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.DYSPNEA,
                "Dyspnea",
                "10013963",
                (
                    _DEATH,
                    _life_threatening(_LIFE_THREATENING),
                    _Criterion(
                        3,
                        "Shortness of breath at rest; limiting self care ADL",
                        _any(
                            _is("exertion", Exertion.AT_REST),
                            _is("adl_limitation", AdlLimitation.SELF_CARE),
                        ),
                    ),
                    _Criterion(
                        2,
                        "Shortness of breath with minimal exertion; limiting instrumental ADL",
                        _any(
                            _is("exertion", Exertion.MINIMAL),
                            _is("adl_limitation", AdlLimitation.INSTRUMENTAL),
                        ),
                    ),
                    _Criterion(
                        1,
                        "Shortness of breath with moderate exertion",
                        _is("exertion", Exertion.MODERATE),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.COUGH,
                "Cough",
                "10011224",
                (
                    _Criterion(
                        3,
                        "Severe symptoms; limiting self care ADL",
                        _any(
                            _is("severity", Severity.SEVERE),
                            _is("adl_limitation", AdlLimitation.SELF_CARE),
                        ),
                    ),
                    _Criterion(
                        2,
                        "Moderate symptoms, medical intervention indicated; limiting "
                        "instrumental ADL",
                        _any(
                            _is("severity", Severity.MODERATE),
                            _yes("medical_intervention"),
                            _is("adl_limitation", AdlLimitation.INSTRUMENTAL),
                        ),
                    ),
                    _Criterion(
                        1,
                        "Mild symptoms; nonprescription intervention indicated",
                        _any(_is("severity", Severity.MILD), _yes("nonprescription_intervention")),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.HYPOXIA,
                "Hypoxia",
                "10021143",
                (
                    _DEATH,
                    _life_threatening(
                        "Life-threatening airway compromise; urgent intervention indicated "
                        "(e.g., tracheotomy or intubation)"
                    ),
                    _Criterion(
                        3,
                        "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 "
                        "<=55 mm Hg)",
                        _yes("desaturation_at_rest"),
                    ),
                    _Criterion(
                        2,
                        "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
                        "intermittent supplemental oxygen",
                        _any(
                            _yes("desaturation_with_exercise"),
                            _is("oxygen", OxygenNeed.INTERMITTENT),
                        ),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.INFUSION_RELATED_REACTION,
                "Infusion related reaction",
                "10051792",
                (
                    _DEATH,
                    _life_threatening(_LIFE_THREATENING),
                    _Criterion(
                        3,
                        "Prolonged (e.g., not rapidly responsive to symptomatic medication and/or "
                        "brief interruption of infusion); recurrence of symptoms following "
                        "initial improvement; hospitalization indicated for clinical sequelae",
                        _any(
                            _all(
                                _any(_yes("infusion_interrupted"), _yes("symptomatic_treatment")),
                                _no("prompt_response"),
                            ),
                            _yes("recurrence_after_improvement"),
                            _yes("hospitalization"),
                        ),
                    ),
                    _Criterion(
                        2,
                        "Therapy or infusion interruption indicated but responds promptly to "
                        "symptomatic treatment (e.g., antihistamines, NSAIDS, narcotics, IV "
                        "fluids); prophylactic medications indicated for <=24 hrs",
                        _any(
                            _all(
                                _any(_yes("infusion_interrupted"), _yes("symptomatic_treatment")),
                                _yes("prompt_response"),
                            ),
                            _yes("prophylaxis_up_to_24_hours"),
                        ),
                    ),
                    _Criterion(
                        1,
                        "Mild transient reaction; infusion interruption not indicated; "
                        "intervention not indicated",
                        _all(_no("infusion_interrupted"), _no("symptomatic_treatment")),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.ALLERGIC_REACTION,
                "Allergic reaction",
                "10001718",
                (
                    _DEATH,
                    _life_threatening(_LIFE_THREATENING),
                    _Criterion(
                        3,
                        "Bronchospasm; hospitalization indicated for clinical sequelae; "
                        "intravenous intervention indicated",
                        _any(
                            _yes("bronchospasm"),
                            _yes("hospitalization"),
                            _yes("intravenous_intervention"),
                        ),
                    ),
                    _Criterion(2, "Oral intervention indicated", _yes("oral_intervention")),
                    _Criterion(
                        1, "Systemic intervention not indicated", _no("systemic_intervention")
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.ANAPHYLAXIS,
                "Anaphylaxis",
                "10002218",
                (
                    _DEATH,
                    _life_threatening(_LIFE_THREATENING),
                    _Criterion(
                        3,
                        "Symptomatic bronchospasm, with or without urticaria; parenteral "
                        "intervention indicated; allergy-related edema/angioedema; hypotension",
                        _any(
                            _yes("bronchospasm"),
                            _yes("parenteral_intervention"),
                            _yes("angioedema"),
                            _yes("hypotension"),
                        ),
                    ),
                ),
            ),
            _TermRules(
                ClinicalTerm.CYTOKINE_RELEASE_SYNDROME,
                "Cytokine release syndrome",
                "10052015",
                (
                    _DEATH,
                    # NCI v5.0 gives no pressor or oxygen cut-off for grade 4.
                    _life_threatening(_LIFE_THREATENING),
                    _Criterion(
                        3,
                        "Hypotension managed with one pressor; hypoxia requiring ≥ 40% O2",
                        _any(
                            # More than one pressor is at least "managed with one pressor";
                            # grade 4 needs the life-threatening answer.
                            _is(
                                "hypotension_management",
                                HypotensionManagement.ONE_PRESSOR,
                                HypotensionManagement.MORE_THAN_ONE_PRESSOR,
                            ),
                            _cmp("oxygen_fio2_percent", _Op.GE, "40"),
                        ),
                    ),
                    _Criterion(
                        2,
                        "Hypotension responding to fluids; hypoxia responding to <40% O2",
                        _any(
                            _is("hypotension_management", HypotensionManagement.FLUIDS),
                            # Room air is FiO2 21% (OUTCOMES.md §4.2).
                            _all(
                                _cmp("oxygen_fio2_percent", _Op.GT, "21"),
                                _cmp("oxygen_fio2_percent", _Op.LT, "40"),
                            ),
                        ),
                    ),
                    _Criterion(1, "Fever with or without constitutional symptoms", _yes("fever")),
                ),
            ),
            _TermRules(
                ClinicalTerm.FEVER,
                "Fever",
                "10016558",
                (
                    _DEATH,
                    _Criterion(
                        4,
                        ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
                        _all(
                            _cmp("peak_temperature_celsius", _Op.GT, "40.0"),
                            _cmp("hours_above_40_celsius", _Op.GT, "24"),
                        ),
                    ),
                    _Criterion(
                        3,
                        ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
                        _all(
                            _cmp("peak_temperature_celsius", _Op.GT, "40.0"),
                            _cmp("hours_above_40_celsius", _Op.LE, "24"),
                        ),
                    ),
                    _Criterion(
                        2,
                        ">39.0 - 40.0 degrees C (102.3 - 104.0 degrees F)",
                        _all(
                            _cmp("peak_temperature_celsius", _Op.GT, "39.0"),
                            _cmp("peak_temperature_celsius", _Op.LE, "40.0"),
                        ),
                    ),
                    _Criterion(
                        1,
                        "38.0 - 39.0 degrees C (100.4 - 102.2 degrees F)",
                        _all(
                            _cmp("peak_temperature_celsius", _Op.GE, "38.0"),
                            _cmp("peak_temperature_celsius", _Op.LE, "39.0"),
                        ),
                    ),
                ),
            ),
        )
    }
)


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlapCandidate:
    term: ClinicalTerm
    ctcae_term: str
    meddra_code: str
    why: str


@dataclass(frozen=True)
class OverlapFlag:
    """The answers fit several overlapping terms; the investigator chooses which to report."""

    candidates: tuple[OverlapCandidate, ...]
    message: str


@dataclass(frozen=True)
class ClinicalGrade:
    """A proposed grade with the answers that decided it, or the range still open.

    `grade` is 0 when the answers meet no grade of the term (for example no desaturation for
    Hypoxia, which has no grade 1), None when unanswered questions leave it open; then
    `possible_grades` lists what is still possible and `missing` the questions to answer.
    """

    term: ClinicalTerm
    ctcae_term: str
    meddra_code: str
    grade: int | None
    reason: str
    ctcae_version: str = CTCAE_VERSION
    decided_by: tuple[str, ...] = ()
    possible_grades: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()
    overlap: OverlapFlag | None = None


# --- engine ------------------------------------------------------------------------------------


def _top_down(
    rules: _TermRules, answers: Mapping[str, object]
) -> tuple[_Criterion | None, _Evaluation | None, list[tuple[int, frozenset[str]]]]:
    """The first criterion that holds (if any), and the grades above it that might hold."""
    open_above: list[tuple[int, frozenset[str]]] = []
    for criterion in rules.criteria:
        evaluation = _evaluate(criterion.condition, answers)
        if evaluation.truth is _Truth.TRUE:
            return criterion, evaluation, open_above
        if evaluation.truth is _Truth.UNKNOWN:
            open_above.append((criterion.grade, evaluation.missing))
    return None, None, open_above


def _domain(question: str, rules: _TermRules) -> tuple[object, ...]:
    """Representative answers of an unanswered question: every choice, or every region of a
    number between the thresholds the term compares it with."""
    kind = QUESTIONS[question].answer_type
    if kind is AnswerType.BOOLEAN:
        return (True, False)
    if kind is AnswerType.CHOICE:
        return QUESTIONS[question].choices
    thresholds = sorted(
        {
            leaf.number
            for criterion in rules.criteria
            for leaf in _questions_in(criterion.condition)
            if isinstance(leaf, _Compare) and leaf.question == question
        }
    )
    points = {Decimal(0)}
    for threshold in thresholds:
        points |= {threshold - _EPSILON, threshold, threshold + _EPSILON}
    return tuple(sorted(points))


def _possible_grades(
    rules: _TermRules, answers: Mapping[str, object], unanswered: list[str]
) -> tuple[set[int], set[str]] | None:
    """Exact possible grades over every way the unanswered questions could be answered, and the
    questions whose answer changes the grade; None when there are too many combinations."""
    domains = [_domain(question, rules) for question in unanswered]
    combinations = 1
    for domain in domains:
        combinations *= len(domain)
    if combinations > _MAX_COMBINATIONS:
        return None

    def grade_with(assignment: Mapping[str, object]) -> int:
        criterion, _, _ = _top_down(rules, {**answers, **assignment})
        return 0 if criterion is None else criterion.grade

    outcomes: dict[tuple[object, ...], int] = {
        values: grade_with(dict(zip(unanswered, values, strict=True)))
        for values in itertools.product(*domains)
    }
    mattering: set[str] = set()
    for index, question in enumerate(unanswered):
        for values, outcome in outcomes.items():
            for other in domains[index]:
                varied = (*values[:index], other, *values[index + 1 :])
                if outcomes[varied] != outcome:
                    mattering.add(question)
                    break
            if question in mattering:
                break
    return set(outcomes.values()), mattering


def _answered_questions(rules: _TermRules, answers: Mapping[str, object]) -> set[str]:
    return {
        leaf.question
        for criterion in rules.criteria
        for leaf in _questions_in(criterion.condition)
        if answers.get(leaf.question) is not None
    }


def _unanswered_questions(rules: _TermRules, answers: Mapping[str, object]) -> list[str]:
    return sorted(
        {
            leaf.question
            for criterion in rules.criteria
            for leaf in _questions_in(criterion.condition)
            if answers.get(leaf.question) is None
        }
    )


def _grade(
    rules: _TermRules,
    answers: Mapping[str, object],
    *,
    derived_from: Mapping[str, tuple[str, ...]] | None = None,
    overlap: OverlapFlag | None = None,
) -> ClinicalGrade:
    """Propose a grade; `derived_from` names the questions a derived answer was computed from."""
    sources = derived_from or {}

    def asked(questions: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({name for q in questions for name in sources.get(q, (q,))}))

    def result(
        grade: int | None,
        reason: str,
        *,
        decided_by: tuple[str, ...] = (),
        possible_grades: tuple[int, ...] = (),
        missing: tuple[str, ...] = (),
    ) -> ClinicalGrade:
        return ClinicalGrade(
            term=rules.term,
            ctcae_term=rules.ctcae_term,
            meddra_code=rules.meddra_code,
            grade=grade,
            reason=reason,
            decided_by=decided_by,
            possible_grades=possible_grades,
            missing=missing,
            overlap=overlap,
        )

    criterion, evaluation, open_above = _top_down(rules, answers)
    decided_by = evaluation.decided_by if evaluation is not None else frozenset()
    if open_above:
        unanswered = _unanswered_questions(rules, answers)
        exact = _possible_grades(rules, answers, unanswered)
        if exact is None:
            floor = 0 if criterion is None else criterion.grade
            possible = {grade for grade, _ in open_above} | {floor}
            mattering = {question for _, missing in open_above for question in missing}
        else:
            possible, mattering = exact
        if len(possible) > 1:
            needed = asked(mattering)
            listed = " or ".join(str(g) for g in sorted(possible))
            return result(
                None,
                f"not gradable yet: could be grade {listed}; answer {', '.join(needed)}",
                possible_grades=tuple(sorted(possible)),
                missing=needed,
            )
        # Every way of answering leads to the same grade (complementary questions).
        only = possible.pop()
        if criterion is None or criterion.grade != only:
            criterion = next((c for c in rules.criteria if c.grade == only), None)
            decided_by = frozenset(_answered_questions(rules, answers))

    if criterion is None:
        return result(
            0,
            f"the answers meet no grade of CTCAE v{CTCAE_VERSION} {rules.ctcae_term}",
            decided_by=asked(_answered_questions(rules, answers)),
        )
    return result(
        criterion.grade,
        f"CTCAE v{CTCAE_VERSION} {rules.ctcae_term} grade {criterion.grade}: '{criterion.text}'",
        decided_by=asked(decided_by),
    )


def _answer_map(answers: Answers) -> dict[str, object]:
    return {field.name: getattr(answers, field.name) for field in fields(answers)}


# --- overlap of the reaction terms (CTCAE-CLINICAL-TERMS.md §4, "Picking the term") ------------

_REACTION_TERMS: Final = (
    ClinicalTerm.INFUSION_RELATED_REACTION,
    ClinicalTerm.ALLERGIC_REACTION,
    ClinicalTerm.ANAPHYLAXIS,
    ClinicalTerm.CYTOKINE_RELEASE_SYNDROME,
    ClinicalTerm.FEVER,
)

# CTCAE v5.0 navigational note of Allergic reaction.
_ALLERGIC_NOTE: Final = (
    "If related to infusion, use Injury, poisoning and procedural complications: Infusion "
    "related reaction. Do not report both."
)


def _signs(answers: Answers) -> ReactionSigns:
    return ReactionSigns(
        **{field.name: getattr(answers, field.name, None) for field in fields(ReactionSigns)}
    )


def reaction_overlap(graded: ClinicalTerm, signs: ReactionSigns) -> OverlapFlag | None:
    """The overlapping reaction terms these signs fit besides `graded`; None when only one fits.

    Fever within hours of an infusion can be graded as Fever, as Infusion related reaction or as
    Cytokine release syndrome grade 1, and a matching DLT rule can differ; so the candidates are
    put to the investigator, never chosen here.
    """
    fever = signs.fever is True or graded is ClinicalTerm.FEVER
    why: dict[ClinicalTerm, str] = {}
    if graded in _REACTION_TERMS:
        why[graded] = "the term being graded"
    if signs.began_with_infusion:
        why.setdefault(
            ClinicalTerm.INFUSION_RELATED_REACTION,
            "began during an infusion or within 24 hours after it",
        )
    allergic = [
        name
        for name, present in (
            ("urticaria", signs.urticaria),
            ("angioedema", signs.angioedema),
            ("bronchospasm", signs.bronchospasm),
        )
        if present
    ]
    if allergic:
        why.setdefault(ClinicalTerm.ALLERGIC_REACTION, f"allergic signs: {', '.join(allergic)}")
    if signs.bronchospasm or signs.angioedema or (signs.hypotension and signs.urticaria):
        why.setdefault(
            ClinicalTerm.ANAPHYLAXIS,
            "bronchospasm, angioedema, or hypotension with urticaria (Anaphylaxis grade 3 signs)",
        )
    if fever:
        circulatory = [
            name
            for name, present in (("hypotension", signs.hypotension), ("hypoxia", signs.hypoxia))
            if present
        ]
        with_what = f" with {' and '.join(circulatory)}" if circulatory else ""
        why.setdefault(
            ClinicalTerm.CYTOKINE_RELEASE_SYNDROME,
            f"fever{with_what} (Cytokine release syndrome grade 1 is fever)",
        )
        why.setdefault(ClinicalTerm.FEVER, "temperature ≥38.0 °C")
    if len(why) < 2:
        return None
    message = (
        "The answers fit several overlapping CTCAE terms; the investigator chooses which one to "
        "report."
    )
    if ClinicalTerm.ALLERGIC_REACTION in why and ClinicalTerm.INFUSION_RELATED_REACTION in why:
        message += f" CTCAE v5.0 Allergic reaction: '{_ALLERGIC_NOTE}'"
    return OverlapFlag(
        candidates=tuple(
            OverlapCandidate(term, _RULES[term].ctcae_term, _RULES[term].meddra_code, reason)
            for term in _REACTION_TERMS
            if (reason := why.get(term)) is not None
        ),
        message=message,
    )


# --- one function per term ---------------------------------------------------------------------

# CTCAE v5.0 Hypoxia: "e.g., pulse oximeter <88% or PaO2 <=55 mm Hg": the default rule when the
# investigator has not answered the desaturation questions directly.
SPO2_DESATURATION_BELOW_PERCENT: Final = Decimal(88)
PAO2_AT_REST_AT_MOST_MMHG: Final = Decimal(55)


def grade_pneumonitis(answers: PneumonitisAnswers) -> ClinicalGrade:
    """Pneumonitis; "symptomatic" and "severity" answer each other when only one is given."""
    values = _answer_map(answers)
    derived: dict[str, tuple[str, ...]] = {}
    if answers.symptomatic is None and answers.severity is not None:
        values["symptomatic"] = answers.severity is not Severity.NONE
        derived["symptomatic"] = ("severity",)
    if answers.severity is None and answers.symptomatic is False:
        values["severity"] = Severity.NONE
        derived["severity"] = ("symptomatic",)
    return _grade(_RULES[ClinicalTerm.PNEUMONITIS], values, derived_from=derived)


def grade_dyspnea(answers: DyspneaAnswers) -> ClinicalGrade:
    return _grade(_RULES[ClinicalTerm.DYSPNEA], _answer_map(answers))


def grade_cough(answers: CoughAnswers) -> ClinicalGrade:
    return _grade(_RULES[ClinicalTerm.COUGH], _answer_map(answers))


def grade_hypoxia(answers: HypoxiaAnswers) -> ClinicalGrade:
    """Hypoxia; an unanswered desaturation question is derived from SpO2/PaO2 when given."""
    values = _answer_map(answers)
    derived: dict[str, tuple[str, ...]] = {}
    spo2_rest, pao2 = answers.spo2_at_rest_percent, answers.pao2_mmhg
    if answers.desaturation_at_rest is None and (spo2_rest is not None or pao2 is not None):
        values["desaturation_at_rest"] = (
            spo2_rest is not None and spo2_rest < SPO2_DESATURATION_BELOW_PERCENT
        ) or (pao2 is not None and pao2 <= PAO2_AT_REST_AT_MOST_MMHG)
        derived["desaturation_at_rest"] = tuple(
            name
            for name, number in (("spo2_at_rest_percent", spo2_rest), ("pao2_mmhg", pao2))
            if number is not None
        )
    spo2_exercise = answers.spo2_with_exercise_percent
    if answers.desaturation_with_exercise is None and spo2_exercise is not None:
        values["desaturation_with_exercise"] = spo2_exercise < SPO2_DESATURATION_BELOW_PERCENT
        derived["desaturation_with_exercise"] = ("spo2_with_exercise_percent",)
    return _grade(_RULES[ClinicalTerm.HYPOXIA], values, derived_from=derived)


def _grade_reaction(term: ClinicalTerm, answers: Answers, signs: ReactionSigns) -> ClinicalGrade:
    return _grade(_RULES[term], _answer_map(answers), overlap=reaction_overlap(term, signs))


def grade_infusion_related_reaction(answers: InfusionRelatedReactionAnswers) -> ClinicalGrade:
    return _grade_reaction(ClinicalTerm.INFUSION_RELATED_REACTION, answers, _signs(answers))


def grade_allergic_reaction(answers: AllergicReactionAnswers) -> ClinicalGrade:
    return _grade_reaction(ClinicalTerm.ALLERGIC_REACTION, answers, _signs(answers))


def grade_anaphylaxis(answers: AnaphylaxisAnswers) -> ClinicalGrade:
    return _grade_reaction(ClinicalTerm.ANAPHYLAXIS, answers, _signs(answers))


def grade_cytokine_release_syndrome(answers: CytokineReleaseSyndromeAnswers) -> ClinicalGrade:
    signs = _signs(answers)
    managed = answers.hypotension_management
    if signs.hypotension is None and managed is not None:
        signs = replace(signs, hypotension=managed is not HypotensionManagement.NONE)
    if signs.hypoxia is None and answers.oxygen_fio2_percent is not None:
        signs = replace(signs, hypoxia=answers.oxygen_fio2_percent > _ROOM_AIR_FIO2_PERCENT)
    return _grade_reaction(ClinicalTerm.CYTOKINE_RELEASE_SYNDROME, answers, signs)


def grade_fever(answers: FeverAnswers) -> ClinicalGrade:
    return _grade_reaction(ClinicalTerm.FEVER, answers, _signs(answers))


# Room air is FiO2 21% (OUTCOMES.md §4.2).
_ROOM_AIR_FIO2_PERCENT: Final = Decimal(21)

_GRADERS: Final[Mapping[ClinicalTerm, Callable[[Any], ClinicalGrade]]] = MappingProxyType(
    {
        ClinicalTerm.PNEUMONITIS: grade_pneumonitis,
        ClinicalTerm.DYSPNEA: grade_dyspnea,
        ClinicalTerm.COUGH: grade_cough,
        ClinicalTerm.HYPOXIA: grade_hypoxia,
        ClinicalTerm.INFUSION_RELATED_REACTION: grade_infusion_related_reaction,
        ClinicalTerm.ALLERGIC_REACTION: grade_allergic_reaction,
        ClinicalTerm.ANAPHYLAXIS: grade_anaphylaxis,
        ClinicalTerm.CYTOKINE_RELEASE_SYNDROME: grade_cytokine_release_syndrome,
        ClinicalTerm.FEVER: grade_fever,
    }
)


def grade_clinical(answers: Answers) -> ClinicalGrade:
    """Grade whichever term the answer model belongs to."""
    for term, model in ANSWER_MODELS.items():
        if type(answers) is model:
            return _GRADERS[term](answers)
    raise TypeError(f"{type(answers).__name__} is not a clinical answer model")
