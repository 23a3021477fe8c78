"""`replay_by_cohort`: the lax replay with each cohort's departures apart, agreeing with `replay`
and `recommend` (callers accept some cohorts' departures and not others')."""

from __future__ import annotations

import pytest

from escalation import (
    Design,
    InvalidHistoryError,
    Variant,
    parse_outcomes,
    recommend,
    replay_by_cohort,
)
from escalation.history import replay


def test_a_history_the_design_allows_has_no_departure_in_any_cohort() -> None:
    design = Design(num_doses=4, variant=Variant.DEESC)
    state, per_cohort = replay_by_cohort(design, parse_outcomes("1NNN 2TNN 2NNN"), strict=True)
    assert per_cohort == ((), (), ())
    assert design.decide(state) == recommend(design, "1NNN 2TNN 2NNN")


def test_departures_are_reported_in_the_cohort_they_happen_in() -> None:
    design = Design(num_doses=4, variant=Variant.DEESC)
    cohorts = parse_outcomes("1TNN 2NNN 1NNN")
    state, per_cohort = replay_by_cohort(design, cohorts, strict=False)
    assert per_cohort[0] == ()
    # The first patient at level 2 departs; the design then finishes the cohort at level 2.
    assert len(per_cohort[1]) == 1
    assert per_cohort[2]
    assert per_cohort[1][0].startswith("patient 4 was given level 2, where the design called")
    flat_state, flat = replay(design, cohorts, strict=False)
    assert (state, tuple(d for ds in per_cohort for d in ds)) == (flat_state, flat)
    assert design.decide(state).reason == recommend(design, cohorts, strict=False).reason


def test_strict_mode_raises_at_the_first_departure_and_bounds_still_apply() -> None:
    design = Design(num_doses=2, variant=Variant.DEESC)
    with pytest.raises(InvalidHistoryError, match="patient 4 was given level 2"):
        replay_by_cohort(design, parse_outcomes("1TNN 2NNN"), strict=True)
    with pytest.raises(InvalidHistoryError, match="the design has 2 dose levels"):
        replay_by_cohort(design, parse_outcomes("1NNN 3NNN"), strict=False)
