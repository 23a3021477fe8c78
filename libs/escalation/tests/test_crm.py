"""The CRM: dfcrm's skeleton calibration, posterior by quadrature, restrictions and exact OC."""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest

from escalation import CRM, Cohort, getprior, operating_characteristics, recommend
from escalation.crm import GRID_LIMIT, Model

DESIGN = CRM(
    num_doses=5, target=0.25, num_cohorts=12, cohort_size=3, prior_mtd=3, skeleton_halfwidth=0.05
)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize(
    ("halfwidth", "target", "prior_mtd", "levels"),
    [(0.05, 0.25, 3, 5), (0.1, 0.25, 3, 6), (0.04, 0.3, 1, 4), (0.06, 0.2, 4, 4)],
)
def test_getprior_calibrates_adjacent_levels_to_the_indifference_interval(
    model: Model, halfwidth: float, target: float, prior_mtd: int, levels: int
) -> None:
    # Lee & Cheung (2009): the skeleton is built so that where level k's model curve crosses
    # target + halfwidth, level k - 1's crosses target - halfwidth, and the guess at the prior MTD
    # is the target itself.
    design = CRM(
        num_doses=levels,
        target=target,
        num_cohorts=1,
        prior_mtd=prior_mtd,
        skeleton_halfwidth=halfwidth,
        model=model,
    )
    skeleton = design.prior
    assert math.isclose(skeleton[prior_mtd - 1], target, rel_tol=1e-12)
    assert skeleton == getprior(halfwidth, target, prior_mtd, levels, model)
    for level in range(2, levels + 1):
        # Solve p_level(a) = target + halfwidth for a, then look at the level below.
        low, high = -GRID_LIMIT, GRID_LIMIT
        for _ in range(200):
            middle = (low + high) / 2
            if design.dlt_probabilities(middle)[level - 1] > target + halfwidth:
                low = middle
            else:
                high = middle
        below = design.dlt_probabilities(low)[level - 2]
        assert math.isclose(below, target - halfwidth, abs_tol=1e-9)


def fine_posterior_mean(design: CRM, patients: tuple[int, ...], dlts: tuple[int, ...]) -> float:
    """The same integral on a grid four times finer, every term evaluated directly."""
    step = 0.005
    points = [-GRID_LIMIT + step * i for i in range(round(2 * GRID_LIMIT / step) + 1)]
    logs = []
    for a in points:
        value = -a * a / (2 * design.prior_sd**2)
        for dose, (n, y) in enumerate(zip(patients, dlts, strict=True), 1):
            log_p, log_q = design.log_probabilities(dose, a)
            value += y * log_p + (n - y) * log_q
        logs.append(value)
    peak = max(logs)
    weights = [math.exp(value - peak) for value in logs]
    return math.fsum(w * a for w, a in zip(weights, points, strict=True)) / math.fsum(weights)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_posterior_mean_agrees_with_a_four_times_finer_grid(model: Model) -> None:
    design = CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=40,
        cohort_size=3,
        prior_mtd=3,
        skeleton_halfwidth=0.06,
        model=model,
    )
    rng = random.Random(5)
    cases: list[tuple[tuple[int, ...], tuple[int, ...]]] = [
        ((0,) * 5, (0,) * 5),
        ((3, 0, 0, 0, 0), (3, 0, 0, 0, 0)),
        ((60, 0, 0, 0, 0), (0,) * 5),
    ]
    for _ in range(40):
        patients = tuple(rng.choice([0, 0, 3, 6, 9, 18, 30]) for _ in range(5))
        cases.append((patients, tuple(rng.randint(0, n) for n in patients)))
    for patients, dlts in cases:
        got = design.posterior_mean(patients, dlts)
        assert math.isclose(got, fine_posterior_mean(design, patients, dlts), abs_tol=1e-12), (
            patients,
            dlts,
        )


def test_no_data_leaves_the_prior_mean_and_the_prior_mtd() -> None:
    assert DESIGN.posterior_mean((0,) * 5, (0,) * 5) == pytest.approx(0.0, abs=1e-15)
    assert DESIGN.recommended((0,) * 5, (0,) * 5)[0] == 3


def advice(design: CRM, outcomes: str) -> tuple[bool, int | None]:
    decision = recommend(design, outcomes)
    return decision.continue_trial, decision.next_dose if decision.continue_trial else decision.mtd


def test_escalation_never_skips_a_level() -> None:
    # A skeleton putting the MTD at level 4: after 0/3 at level 1 the model wants 4 or 5.
    design = CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=6,
        cohort_size=3,
        skeleton=(0.02, 0.05, 0.1, 0.25, 0.4),
    )
    assert design.recommended((3, 0, 0, 0, 0), (0, 0, 0, 0, 0))[0] >= 4
    decision = recommend(design, "1NNN")
    assert (decision.continue_trial, decision.next_dose) == (True, 2)
    assert "no skipping a level when escalating" in decision.reason


def test_no_escalation_after_a_cohort_at_or_above_the_target_rate() -> None:
    # 1 DLT in 3 (0.33 >= 0.25) at level 2 after clean levels: the model may say 3, coherence
    # keeps the trial at 2.
    design = CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=8,
        cohort_size=3,
        skeleton=(0.02, 0.05, 0.1, 0.25, 0.4),
    )
    unrestricted = design.recommended((3, 3, 0, 0, 0), (0, 1, 0, 0, 0))[0]
    assert unrestricted >= 3
    decision = recommend(design, "1NNN 2NNT")
    assert (decision.continue_trial, decision.next_dose) == (True, 2)
    assert "no escalation after a cohort with a DLT rate at or above the target" in decision.reason
    free = CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=8,
        cohort_size=3,
        skeleton=(0.02, 0.05, 0.1, 0.25, 0.4),
        restrict=False,
    )
    # Without restrictions the model's level is followed (lax: it would not have given level 2).
    assert recommend(free, "1NNN 2NNT", strict=False).next_dose == unrestricted


def test_the_mtd_at_the_end_is_the_unrestricted_recommendation() -> None:
    design = CRM(num_doses=3, target=0.25, num_cohorts=2, cohort_size=3, skeleton=(0.1, 0.25, 0.4))
    decision = recommend(design, "1NNN 2NNN")
    assert decision.continue_trial is False
    assert decision.mtd == design.recommended((3, 3, 0), (0, 0, 0))[0] == 3


def test_de_escalation_may_skip_levels() -> None:
    design = CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=8,
        cohort_size=3,
        skeleton=(0.05, 0.1, 0.2, 0.3, 0.45),
        start_dose=4,
    )
    decision = recommend(design, "4TTT")
    assert decision.next_dose is not None
    assert decision.next_dose <= 2


def test_stopping_rule_on_the_lowest_level() -> None:
    design = CRM(
        num_doses=3,
        target=0.25,
        num_cohorts=10,
        cohort_size=3,
        skeleton=(0.15, 0.25, 0.35),
        stop_when_lowest_too_toxic=0.9,
    )
    probability = design.prob_lowest_above_target((3, 0, 0), (3, 0, 0))
    assert probability > 0.9
    assert advice(design, "1TTT") == (False, None)
    assert advice(design, "1NNN")[0] is True
    # Against Simpson's rule with 20,000 steps on each side of the cut p_1(a) = 0.25.
    cut = math.log(math.log(0.25) / math.log(0.15))

    def density(a: float) -> float:
        return math.exp(-a * a / (2 * design.prior_sd**2)) * design.dlt_probabilities(a)[0] ** 3

    def simpson(low: float, high: float, steps: int = 20_000) -> float:
        h = (high - low) / steps
        inner = math.fsum((4 if i % 2 else 2) * density(low + i * h) for i in range(1, steps))
        return h / 3 * (density(low) + inner + density(high))

    below, above = simpson(-GRID_LIMIT, cut), simpson(cut, GRID_LIMIT)
    assert probability == pytest.approx(below / (below + above), abs=1e-7)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "give the skeleton, or prior_mtd and skeleton_halfwidth"),
        ({"skeleton": (0.1, 0.2)}, "the skeleton has 2 values for 3 dose levels"),
        ({"skeleton": (0.1, 0.3, 0.2)}, "must increase"),
        ({"skeleton": (0.1, 0.2, 1.2)}, "skeleton[3] must be between 0 and 1"),
        ({"skeleton": (0.1, 0.2, 0.3), "model": "probit"}, "model must be 'empiric' or 'logistic'"),
        (
            {"skeleton": (0.1, 0.2, 0.99), "model": "logistic", "intercept": 3},
            "intercept 3 is too small",
        ),
        ({"prior_mtd": 4, "skeleton_halfwidth": 0.05}, "prior_mtd must be at most 3"),
        ({"skeleton": (0.1, 0.2, 0.3), "prior_sd": 0}, "prior_sd must be a positive number"),
    ],
)
def test_crm_refuses_impossible_settings(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        CRM(num_doses=3, target=0.25, num_cohorts=5, **options)


def brute_force(design: CRM, probabilities: tuple[float, ...]) -> dict[str, float]:
    totals: dict[str, float] = {}

    def walk(history: tuple[Cohort, ...], weight: float) -> None:
        decision = recommend(design, history)
        if not decision.continue_trial:
            key = "prob_no_mtd" if decision.mtd is None else f"prob_mtd[{decision.mtd}]"
            totals[key] = totals.get(key, 0.0) + weight
            for tally in decision.tallies:
                name = f"expected_patients[{tally.dose}]"
                totals[name] = totals.get(name, 0.0) + weight * tally.patients
            return
        assert decision.next_dose is not None
        dose, size = decision.next_dose, design.cohort_size
        p = probabilities[dose - 1]
        for k in range(size + 1):
            chance = math.comb(size, k) * p**k * (1 - p) ** (size - k)
            walk((*history, Cohort(dose, (True,) * k + (False,) * (size - k))), weight * chance)

    walk((), 1.0)
    return totals


@pytest.mark.parametrize("restrict", [True, False])
def test_exact_characteristics_equal_every_history_through_recommend(restrict: bool) -> None:
    design = CRM(
        num_doses=3,
        target=0.3,
        num_cohorts=4,
        cohort_size=2,
        skeleton=(0.15, 0.3, 0.45),
        restrict=restrict,
        stop_when_lowest_too_toxic=0.95,
    )
    probabilities = (0.2, 0.35, 0.5)
    exact = operating_characteristics(design, probabilities).quantities()
    for name, value in brute_force(design, probabilities).items():
        assert math.isclose(exact[name], value, rel_tol=1e-12, abs_tol=1e-12), name


def test_five_levels_36_patients_sum_to_one() -> None:
    oc = operating_characteristics(DESIGN, (0.05, 0.10, 0.25, 0.40, 0.55))
    assert math.isclose(oc.prob_no_mtd + sum(oc.prob_mtd), 1.0, abs_tol=1e-12)
    assert [size for size, _ in oc.sample_size] == [36]
    assert oc.sample_size[0][1] == pytest.approx(1.0)
    assert oc.states > 10_000
