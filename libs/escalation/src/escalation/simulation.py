"""Seeded Monte Carlo simulation of a design: a check on the exact operating characteristics."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from escalation.characteristics import (
    OperatingCharacteristics,
    check_probabilities,
    from_quantity_vector,
    trial_moments,
)
from escalation.design import Design
from escalation.rules import Decision, TrialState, decide, patients_for_next_cohort


@dataclass(frozen=True)
class SimulationResult:
    """Estimates over simulated trials, and the standard error of each estimate.

    ``standard_error`` has the shape of the estimates: each field holds the standard error of the
    same field of ``estimate`` (sample standard deviation over trials / sqrt(trials)).
    """

    trials: int
    seed: int
    estimate: OperatingCharacteristics
    standard_error: OperatingCharacteristics


def simulate(
    design: Design, true_dlt_probabilities: Sequence[float], *, trials: int, seed: int
) -> SimulationResult:
    """Run ``trials`` simulated trials, drawing each patient's DLT from its level's probability."""
    probabilities = check_probabilities(design, true_dlt_probabilities)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise ValueError(f"trials must be a whole number of at least 2, not {trials!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, not {seed!r}")
    # Reproducible simulation, not security: the Mersenne Twister is what a seeded study needs.
    rng = random.Random(seed)  # noqa: S311
    decisions: dict[TrialState, Decision] = {}
    final_states: Counter[TrialState] = Counter()
    start = TrialState.empty(design.num_doses)
    for _ in range(trials):
        state = start
        while True:
            decision = decisions.get(state)
            if decision is None:
                decision = decisions[state] = decide(design, state)
            if not decision.continue_trial:
                break
            assert decision.next_dose is not None
            dose = decision.next_dose
            size = patients_for_next_cohort(design, state.tally(dose))
            probability = probabilities[dose - 1]
            dlts = sum(rng.random() < probability for _ in range(size))
            state = state.with_patients(dose, size, dlts)
        final_states[state] += 1
    means, squares = trial_moments(
        design,
        ((state, decisions[state], count / trials) for state, count in final_states.items()),
    )
    errors = [
        math.sqrt(max(square - mean * mean, 0.0) * trials / (trials - 1) / trials)
        for mean, square in zip(means, squares, strict=True)
    ]
    return SimulationResult(
        trials=trials,
        seed=seed,
        estimate=from_quantity_vector(design, means),
        standard_error=from_quantity_vector(design, errors),
    )
