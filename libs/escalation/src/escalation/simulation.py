"""Seeded Monte Carlo simulation of any design: a check on the exact operating characteristics."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from escalation.characteristics import (
    OperatingCharacteristics,
    check_probabilities,
    from_vector,
    trial_moments,
)
from escalation.interface import DoseFindingDesign
from escalation.limits import MAX_SIMULATED_TRIALS, require_whole_number
from escalation.state import Decision, TrialState


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
    design: DoseFindingDesign,
    true_dlt_probabilities: Sequence[float],
    *,
    trials: int,
    seed: int,
) -> SimulationResult:
    """Run ``trials`` simulated trials, drawing each patient's DLT from its level's probability."""
    probabilities = check_probabilities(design, true_dlt_probabilities)
    require_whole_number("trials", trials, minimum=2, maximum=MAX_SIMULATED_TRIALS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, not {seed!r}")
    # Reproducible simulation, not security: the Mersenne Twister is what a seeded study needs.
    rng = random.Random(seed)  # noqa: S311
    draw = rng.random
    # A trial's next step depends on its state alone, so each state's decision and the cohort
    # it calls for are worked out once, however many simulated trials pass through it.
    steps: dict[TrialState, tuple[int, int, float] | None] = {}
    decisions: dict[TrialState, Decision] = {}
    final_states: Counter[TrialState] = Counter()
    start = TrialState.empty(design.num_doses)
    for _ in range(trials):
        state = start
        while True:
            if state not in steps:
                decision = decisions[state] = design.decide(state)
                steps[state] = _step(design, state, decision, probabilities)
            step = steps[state]
            if step is None:
                break
            dose, size, probability = step
            dlts = sum(draw() < probability for _ in range(size))
            state = design.add_patients(state, dose, size, dlts)
        final_states[state] += 1
    means, squares, sample_size = trial_moments(
        design,
        ((state, decisions[state], count / trials) for state, count in final_states.items()),
    )
    errors = [
        math.sqrt(max(square - mean * mean, 0.0) * trials / (trials - 1) / trials)
        for mean, square in zip(means, squares, strict=True)
    ]
    # Each sample-size frequency is the mean of an indicator: its variance is p(1 - p).
    size_errors = {
        size: math.sqrt(share * (1.0 - share) / (trials - 1)) for size, share in sample_size.items()
    }
    return SimulationResult(
        trials=trials,
        seed=seed,
        estimate=from_vector(design.num_doses, means, sample_size),
        standard_error=from_vector(design.num_doses, errors, size_errors),
    )


def _step(
    design: DoseFindingDesign,
    state: TrialState,
    decision: Decision,
    probabilities: Sequence[float],
) -> tuple[int, int, float] | None:
    if not decision.continue_trial:
        return None
    assert decision.next_dose is not None
    dose = decision.next_dose
    return dose, design.next_cohort_size(state, dose), probabilities[dose - 1]
