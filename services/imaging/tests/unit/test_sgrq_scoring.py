"""SGRQ and SGRQ-C scoring: component and Total scores, missing-item rules, answer validation."""

from __future__ import annotations

import pytest

from imaging.sgrq.scoring import SgrqResponseError, SgrqScores, score
from imaging.sgrq.weights import ITEMS, Component, Instrument, Response

Answers = dict[str, Response | None]


def _extreme_answers(instrument: Instrument, *, worst: bool) -> Answers:
    pick = max if worst else min
    return {
        item.item: pick(item.weights, key=lambda response: item.weights[response])
        for item in ITEMS[instrument]
    }


def _components(result: SgrqScores) -> list[float | None]:
    return [result.symptoms.score, result.activity.score, result.impacts.score, result.total]


@pytest.mark.parametrize("instrument", list(Instrument))
def test_all_worst_answers_score_100_in_every_component(instrument: Instrument) -> None:
    result = score(instrument, _extreme_answers(instrument, worst=True))
    assert _components(result) == pytest.approx([100.0, 100.0, 100.0, 100.0], abs=1e-9)


@pytest.mark.parametrize("instrument", list(Instrument))
def test_all_best_answers_score_0_in_every_component(instrument: Instrument) -> None:
    result = score(instrument, _extreme_answers(instrument, worst=False))
    assert _components(result) == pytest.approx([0.0, 0.0, 0.0, 0.0], abs=1e-9)


def _reference_case() -> Answers:
    # OUTCOMES.md §1.4 test vector: Q1=2, Q2=3, Q3=1, Q8=yes, Q9=3, Q11d, Q11e, Q15c, Q13d true,
    # Q17=2, every other answer the best one.
    answers = _extreme_answers(Instrument.SGRQ, worst=False)
    answers.update(
        {"1": 2, "2": 3, "3": 1, "8": True, "9": 3, "11d": True, "11e": True, "15c": True}
    )
    answers.update({"13d": True, "17": 2})
    return answers


def _without(answers: Answers, *items: str) -> Answers:
    return {item: answer for item, answer in answers.items() if item not in items}


@pytest.mark.parametrize(
    ("case", "answers", "expected"),
    [
        ("reference answers", _reference_case(), [37.2, 19.0, 7.9, 16.1]),
        ("Q2 and Q11a missing", _without(_reference_case(), "2", "11a"), [36.3, 20.5, 7.9, 15.9]),
        ("Q1 to Q3 missing", _without(_reference_case(), "1", "2", "3"), [None, 19.0, 7.9, None]),
    ],
)
def test_reference_scorer_vectors(
    case: str, answers: Answers, expected: list[float | None]
) -> None:
    result = score(Instrument.SGRQ, answers)
    rounded = [None if value is None else round(value, 1) for value in _components(result)]
    assert rounded == expected, case


def test_symptoms_reference_case_is_the_ratio_of_given_to_maximum_weights() -> None:
    result = score(Instrument.SGRQ, _reference_case())
    # Q1=2 63.2, Q2=3 34.0, Q3=1 87.2, Q8 yes 62.0 over the Symptoms maximum 662.5
    assert result.symptoms.weight_sum == pytest.approx(246.4)
    assert result.symptoms.maximum_weight_sum == pytest.approx(662.5)
    assert result.symptoms.score == pytest.approx(100 * 246.4 / 662.5)


def test_a_missing_item_shrinks_its_components_denominator_and_the_totals() -> None:
    complete = score(Instrument.SGRQ, _reference_case())
    missing_q11a = score(Instrument.SGRQ, {**_reference_case(), "11a": None})
    assert missing_q11a.activity.missing_items == ("11a",)
    assert missing_q11a.activity.maximum_weight_sum == pytest.approx(1209.1 - 90.6)
    assert missing_q11a.activity.weight_sum == complete.activity.weight_sum
    assert missing_q11a.total == pytest.approx(
        100 * (246.4 + 229.2 + 166.7) / (3989.4 - 90.6), abs=1e-9
    )
    # The other components are untouched.
    assert missing_q11a.symptoms == complete.symptoms
    assert missing_q11a.impacts == complete.impacts


@pytest.mark.parametrize(
    ("instrument", "component", "limit"),
    [
        (Instrument.SGRQ, Component.SYMPTOMS, 2),
        (Instrument.SGRQ, Component.ACTIVITY, 4),
        (Instrument.SGRQ, Component.IMPACTS, 6),
        (Instrument.SGRQ_C, Component.SYMPTOMS, 1),
        (Instrument.SGRQ_C, Component.ACTIVITY, 3),
        (Instrument.SGRQ_C, Component.IMPACTS, 5),
    ],
)
def test_a_component_stays_valid_at_its_missing_item_limit_and_fails_one_beyond(
    instrument: Instrument, component: Component, limit: int
) -> None:
    answers = _extreme_answers(instrument, worst=True)
    # Drop items from the end of the component so that SGRQ Q5/Q6 keep their answers.
    items = [item.item for item in ITEMS[instrument] if item.component is component][::-1]

    at_limit = score(instrument, _without(answers, *items[:limit]))
    assert at_limit.component(component).score == pytest.approx(100.0)
    assert at_limit.total == pytest.approx(100.0)

    beyond = score(instrument, _without(answers, *items[: limit + 1]))
    assert beyond.component(component).score is None
    assert beyond.component(component).invalid_reason is not None
    assert len(beyond.component(component).missing_items) == limit + 1
    assert beyond.total is None
    assert beyond.total_invalid_reason == f"invalid component(s): {component.value}"


def test_none_counts_as_missing_like_an_absent_item() -> None:
    absent = score(Instrument.SGRQ, _without(_reference_case(), "2"))
    explicit_none = score(Instrument.SGRQ, {**_reference_case(), "2": None})
    assert absent == explicit_none


def test_no_severe_attacks_skips_the_attack_duration_item_without_counting_it_missing() -> None:
    answers = _without(_extreme_answers(Instrument.SGRQ, worst=False), "6")
    assert answers["5"] == 5
    result = score(Instrument.SGRQ, answers)
    assert result.symptoms.missing_items == ()
    assert result.symptoms.maximum_weight_sum == pytest.approx(662.5)


def test_attack_duration_is_missing_when_attacks_were_reported() -> None:
    answers = {**_extreme_answers(Instrument.SGRQ, worst=True), "6": None}
    result = score(Instrument.SGRQ, answers)
    assert result.symptoms.missing_items == ("6",)


@pytest.mark.parametrize(
    ("attacks", "duration"),
    [(5, 1), (5, 4), (1, 5), (4, 5)],
)
def test_contradicting_attack_answers_are_rejected(attacks: int, duration: int) -> None:
    answers = {**_extreme_answers(Instrument.SGRQ, worst=True), "5": attacks, "6": duration}
    with pytest.raises(SgrqResponseError, match="item 5"):
        score(Instrument.SGRQ, answers)


@pytest.mark.parametrize(
    ("instrument", "item", "answer", "message"),
    [
        (Instrument.SGRQ, "1", True, "expects an option position"),
        (Instrument.SGRQ, "1", 6, "has options 1, 2, 3, 4, 5"),
        (Instrument.SGRQ, "1", 0, "has options"),
        (Instrument.SGRQ, "8", 1, "expects True or False"),
        (Instrument.SGRQ, "11a", 0, "expects True or False"),
        (Instrument.SGRQ, "17", 5, "has options 1, 2, 3, 4"),
        (Instrument.SGRQ_C, "3", 4, "has options 1, 2, 3"),
        (Instrument.SGRQ_C, "7", 2, "expects True or False"),
    ],
)
def test_impossible_answers_are_rejected(
    instrument: Instrument, item: str, answer: Response, message: str
) -> None:
    answers = {**_extreme_answers(instrument, worst=False), item: answer}
    with pytest.raises(SgrqResponseError, match=message):
        score(instrument, answers)


@pytest.mark.parametrize(
    ("instrument", "item"),
    [
        (Instrument.SGRQ, "18"),
        (Instrument.SGRQ, "11h"),
        (Instrument.SGRQ_C, "15"),
        (Instrument.SGRQ_C, "16a"),
    ],
)
def test_items_not_on_the_form_are_rejected(instrument: Instrument, item: str) -> None:
    with pytest.raises(SgrqResponseError, match="has no item"):
        score(instrument, {**_extreme_answers(instrument, worst=False), item: 1})


def test_sgrq_c_scores_on_its_own_weights() -> None:
    answers = _extreme_answers(Instrument.SGRQ_C, worst=False)
    answers.update({"1": 2, "9c": True, "14": 2})
    result = score(Instrument.SGRQ_C, answers)
    assert result.symptoms.score == pytest.approx(100 * 46.3 / 566.2)
    assert result.activity.score == pytest.approx(100 * 81.4 / 982.9)
    assert result.impacts.score == pytest.approx(100 * 42.0 / 1652.8)
    assert result.total == pytest.approx(100 * (46.3 + 81.4 + 42.0) / 3201.9)
