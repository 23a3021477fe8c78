"""Seeded Monte Carlo simulation of any design: a check on the exact operating characteristics."""

from __future__ import annotations

import gc
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
from escalation.state import TrialState


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
    # As in the exact enumeration: many short-lived states, no reference cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        selected, final_states = _run(design, probabilities, trials, rng)
    finally:
        if collecting:
            gc.enable()
    means, squares, sample_size = trial_moments(
        design,
        ((state, selected[state], count / trials) for state, count in final_states.items()),
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


def _run(
    design: DoseFindingDesign,
    probabilities: Sequence[float],
    trials: int,
    rng: random.Random,
) -> tuple[dict[TrialState, int | None], Counter[TrialState]]:
    """The simulated trials: the MTD of each final state, and how many trials ended in it."""
    draw = rng.random
    # A trial's next step depends on its state alone, so each state's step and the cohort it
    # calls for are worked out once, however many simulated trials pass through it.
    steps: dict[TrialState, tuple[int, int, float] | None] = {}
    selected: dict[TrialState, int | None] = {}
    final_states: Counter[TrialState] = Counter()
    start = TrialState.empty(design.num_doses)
    for _ in range(trials):
        state = start
        while True:
            if state not in steps:
                dose, mtd = design.step(state)
                if dose is None:
                    selected[state] = mtd
                    steps[state] = None
                else:
                    size = design.next_cohort_size(state, dose)
                    steps[state] = (dose, size, probabilities[dose - 1])
            cohort = steps[state]
            if cohort is None:
                break
            dose, size, probability = cohort
            dlts = sum(draw() < probability for _ in range(size))
            state = design.add_patients(state, dose, size, dlts)
        final_states[state] += 1
    return selected, final_states
