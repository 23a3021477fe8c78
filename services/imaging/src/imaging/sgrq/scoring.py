"""SGRQ / SGRQ-C scoring: item responses to Symptoms, Activity, Impacts and Total (0-100).

SGRQ manual v2.3 (OUTCOMES.md §1.2, §1.4): for each component,
    score = 100 × Σ(weights of the responses given) / Σ(maximum weights of the items answered),
and the Total is the same ratio over all items. A missing item's maximum weight is removed from the
denominator of its component and of the Total (the manual's rule; imputing the maximum weight, as
some public scorers do, is not). A component is invalid when more of its items are missing than
the manual allows (SGRQ: 2 / 4 / 6 for Symptoms / Activity / Impacts); the Total is invalid when any
component is. Scores are 0 (best) to 100 (worst) and are returned unrounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imaging.sgrq.weights import (
    ITEMS,
    MAX_MISSING_ITEMS,
    Component,
    Instrument,
    ItemWeights,
    Response,
)


class SgrqResponseError(ValueError):
    """The responses cannot be scored: an unknown item, an impossible answer, or a contradiction."""


@dataclass(frozen=True)
class ComponentScore:
    """One component's score, or why it has none."""

    component: Component
    score: float | None
    missing_items: tuple[str, ...]
    invalid_reason: str | None
    weight_sum: float
    """Σ of the weights of the responses given (the numerator before × 100)."""
    maximum_weight_sum: float
    """Σ of the maximum weights of the items answered (the denominator)."""


@dataclass(frozen=True)
class SgrqScores:
    """The three component scores and the Total of one completed questionnaire."""

    instrument: Instrument
    symptoms: ComponentScore
    activity: ComponentScore
    impacts: ComponentScore
    total: float | None
    total_invalid_reason: str | None

    def component(self, component: Component) -> ComponentScore:
        return {
            Component.SYMPTOMS: self.symptoms,
            Component.ACTIVITY: self.activity,
            Component.IMPACTS: self.impacts,
        }[component]


# SGRQ form: Q6 (duration of the worst attack) is skipped when Q5 answers "no severe attacks"
# (option 5). The skipped item scores as its option 5, weight 0, and does not count as missing.
_SGRQ_ATTACKS_ITEM = "5"
_SGRQ_ATTACK_DURATION_ITEM = "6"
_NO_SEVERE_ATTACKS = 5


def score(instrument: Instrument, responses: Mapping[str, Response | None]) -> SgrqScores:
    """Score one questionnaire.

    `responses` maps item numbers as printed on the form ("1", "11a", …) to the answer: the
    option position (1 = first option) for single-choice items, a bool for yes/no and true/false
    items. An item that is absent or None is missing.
    """
    items = {item.item: item for item in ITEMS[instrument]}
    unknown = sorted(set(responses) - set(items))
    if unknown:
        raise SgrqResponseError(f"{instrument.value} has no item(s) {', '.join(unknown)}")
    answers = {item_id: responses.get(item_id) for item_id in items}
    for item_id, answer in answers.items():
        if answer is not None:
            _check_answer(instrument, items[item_id], answer)
    if instrument is Instrument.SGRQ:
        answers = _apply_attack_duration_skip(answers)

    components = {
        component: _score_component(instrument, component, items, answers)
        for component in Component
    }
    invalid = [c for c in components.values() if c.score is None]
    if invalid:
        total = None
        total_invalid_reason = "invalid component(s): " + ", ".join(
            c.component.value for c in invalid
        )
    else:
        numerator = sum(c.weight_sum for c in components.values())
        denominator = sum(c.maximum_weight_sum for c in components.values())
        total = 100.0 * numerator / denominator
        total_invalid_reason = None
    return SgrqScores(
        instrument=instrument,
        symptoms=components[Component.SYMPTOMS],
        activity=components[Component.ACTIVITY],
        impacts=components[Component.IMPACTS],
        total=total,
        total_invalid_reason=total_invalid_reason,
    )


def _check_answer(instrument: Instrument, item: ItemWeights, answer: Response) -> None:
    # bool is a subclass of int in Python: True would otherwise pass as option 1.
    if item.is_true_false != isinstance(answer, bool):
        expected = "True or False" if item.is_true_false else "an option position (int)"
        raise SgrqResponseError(
            f"{instrument.value} item {item.item} expects {expected}, got {answer!r}"
        )
    if answer not in item.weights:
        options = ", ".join(str(option) for option in item.weights)
        raise SgrqResponseError(
            f"{instrument.value} item {item.item} has options {options}, got {answer!r}"
        )


def _apply_attack_duration_skip(
    answers: dict[str, Response | None],
) -> dict[str, Response | None]:
    attacks = answers[_SGRQ_ATTACKS_ITEM]
    duration = answers[_SGRQ_ATTACK_DURATION_ITEM]
    if attacks == _NO_SEVERE_ATTACKS:
        if duration is None:
            return {**answers, _SGRQ_ATTACK_DURATION_ITEM: _NO_SEVERE_ATTACKS}
        if duration != _NO_SEVERE_ATTACKS:
            raise SgrqResponseError(
                "SGRQ item 5 says there were no severe attacks but item 6 gives an attack "
                f"duration (option {duration})"
            )
    elif attacks is not None and duration == _NO_SEVERE_ATTACKS:
        raise SgrqResponseError(
            f"SGRQ item 5 reports severe attacks (option {attacks}) but item 6 says there were none"
        )
    return answers


def _score_component(
    instrument: Instrument,
    component: Component,
    items: Mapping[str, ItemWeights],
    answers: Mapping[str, Response | None],
) -> ComponentScore:
    in_component = [item for item in items.values() if item.component is component]
    missing = tuple(item.item for item in in_component if answers[item.item] is None)
    answered = [
        (item, answer) for item in in_component if (answer := answers[item.item]) is not None
    ]
    weight_sum = sum(item.weights[answer] for item, answer in answered)
    maximum_weight_sum = sum(item.maximum_weight for item, _ in answered)
    limit = MAX_MISSING_ITEMS[instrument][component]
    if len(missing) > limit:
        return ComponentScore(
            component=component,
            score=None,
            missing_items=missing,
            invalid_reason=(
                f"{len(missing)} of {len(in_component)} {component.value} items missing; "
                f"{instrument.value} allows at most {limit}"
            ),
            weight_sum=weight_sum,
            maximum_weight_sum=maximum_weight_sum,
        )
    return ComponentScore(
        component=component,
        score=100.0 * weight_sum / maximum_weight_sum,
        missing_items=missing,
        invalid_reason=None,
        weight_sum=weight_sum,
        maximum_weight_sum=maximum_weight_sum,
    )
