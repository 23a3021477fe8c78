"""Exact operating characteristics against 1,000,000 simulated trials, for every kind of design.

Slow by nature (9 to 25 s per design, 100-110 s in all, on the shared 2-CPU machine), so the designs
are small: the point is that the enumeration, the A+B dynamic programme and the simulator, which
share only the designs' rules, agree on every reported quantity within 4 standard errors.
"""

from __future__ import annotations

import math

import pytest

from escalation import (
    BOIN,
    CRM,
    MTPI2,
    Design,
    DoseFindingDesign,
    I3Plus3,
    Variant,
    operating_characteristics,
    simulate,
)

TRIALS = 1_000_000
PROBABILITIES = (0.1, 0.25, 0.4, 0.55)

DESIGNS = [
    pytest.param(
        Design(
            num_doses=4,
            variant=Variant.EXPAND_TOP,
            start_dose=2,
            stop_when_any_dose_has=6,
            max_patients=15,
        ),
        id="a+b-expand-top-with-protocol-limits",
    ),
    pytest.param(
        Design(
            num_doses=4,
            variant=Variant.DEESC,
            cohort_size=2,
            expansion_size=4,
            max_dlts_to_expand=1,
            max_dlts_in_expanded=2,
        ),
        id="a+b-2+4-deesc",
    ),
    pytest.param(BOIN(num_doses=4, target=0.3, num_cohorts=5, extra_safe=True), id="boin"),
    pytest.param(I3Plus3(num_doses=4, target=0.3, num_cohorts=5, start_dose=2), id="i3+3"),
    pytest.param(MTPI2(num_doses=4, target=0.3, num_cohorts=6, cohort_size=2), id="mtpi2"),
    pytest.param(
        CRM(
            num_doses=4,
            target=0.25,
            num_cohorts=4,
            cohort_size=3,
            skeleton=(0.1, 0.2, 0.3, 0.45),
            stop_when_lowest_too_toxic=0.9,
        ),
        id="crm",
    ),
]


def standard_error_of(name: str, exact: float, simulated_error: float) -> float:
    """The simulation's standard error; for a probability no simulated trial showed (error 0),
    the binomial one the exact probability implies, sqrt(p (1 - p) / trials)."""
    if simulated_error > 0.0 or not name.startswith("prob"):
        return simulated_error
    return math.sqrt(exact * (1.0 - exact) / TRIALS)


@pytest.mark.slow
@pytest.mark.parametrize("design", DESIGNS)
def test_exact_agrees_with_a_million_simulated_trials_within_4_standard_errors(
    design: DoseFindingDesign,
) -> None:
    exact = operating_characteristics(design, PROBABILITIES).quantities()
    result = simulate(design, PROBABILITIES, trials=TRIALS, seed=20_240_601)
    estimate = result.estimate.quantities()
    errors = result.standard_error.quantities()
    # The simulation can only show what the exact answer says is possible.
    assert set(estimate) <= set(exact)
    for name, value in exact.items():
        error = standard_error_of(name, value, errors.get(name, 0.0))
        got = estimate.get(name, 0.0)
        if error == 0.0:
            # Every simulated trial had the same value: only a certainty can do that.
            assert math.isclose(got, value, abs_tol=1e-12), name
        else:
            assert abs(got - value) <= 4 * error, (name, got, value, error)
