"""The polynomial programme for A+B designs against the enumeration of trial states."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation import Design, StateBudgetError, Variant, operating_characteristics

probability = st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)


@settings(max_examples=400, deadline=None)
@given(design=st.from_type(Design), data=st.data())
def test_dynamic_programme_equals_the_enumeration_to_1e_12(
    design: Design, data: st.DataObject
) -> None:
    probabilities = data.draw(
        st.lists(probability, min_size=design.num_doses, max_size=design.num_doses)
    )
    programme = operating_characteristics(design, probabilities, method="dynamic-programme")
    enumeration = operating_characteristics(design, probabilities, method="enumeration")
    expected = enumeration.quantities()
    got = programme.quantities()
    assert set(got) == set(expected)
    for name, value in got.items():
        assert math.isclose(value, expected[name], rel_tol=1e-12, abs_tol=1e-12), name


@pytest.mark.parametrize("variant", list(Variant))
@pytest.mark.parametrize(("a", "b", "thresholds"), [(3, 3, (0, 1, 1)), (6, 6, (1, 2, 2))])
def test_thirty_levels_are_computed_exactly(
    variant: Variant, a: int, b: int, thresholds: tuple[int, int, int]
) -> None:
    c, d, e = thresholds
    design = Design(
        num_doses=30,
        variant=variant,
        cohort_size=a,
        expansion_size=b,
        max_dlts_to_escalate=c,
        max_dlts_to_expand=d,
        max_dlts_in_expanded=e,
    )
    probabilities = [0.01 * level for level in range(1, 31)]
    oc = operating_characteristics(design, probabilities)
    assert math.isclose(oc.prob_no_mtd + sum(oc.prob_mtd), 1.0, abs_tol=1e-12)
    assert math.isclose(sum(share for _, share in oc.sample_size), 1.0, abs_tol=1e-12)
    assert math.isclose(
        oc.expected_total_patients,
        sum(size * share for size, share in oc.sample_size),
        rel_tol=1e-12,
    )
    never = operating_characteristics(design, [0.0] * 30)
    assert never.prob_mtd[-1] == 1.0
    top = a + b if variant is Variant.EXPAND_TOP else a
    assert never.sample_size == ((29 * a + top, 1.0),)


def test_the_enumeration_refuses_a_design_beyond_its_budget_and_names_the_size() -> None:
    design = Design(num_doses=16, variant=Variant.DEESC)
    probabilities = [0.02] * 16
    with pytest.raises(StateBudgetError) as refused:
        operating_characteristics(design, probabilities, method="enumeration", max_states=50_000)
    message = str(refused.value)
    assert "trial states" in message
    assert "MB" in message
    assert "budget of 50,000 states" in message
    assert refused.value.projected > 50_000
    # The polynomial programme computes the same design.
    oc = operating_characteristics(design, probabilities)
    assert math.isclose(oc.prob_no_mtd + sum(oc.prob_mtd), 1.0, abs_tol=1e-12)


def test_the_programme_is_for_a_plus_b_designs_and_names_its_states() -> None:
    design = Design(num_doses=6, variant=Variant.DEESC)
    oc = operating_characteristics(design, [0.05, 0.1, 0.2, 0.3, 0.45, 0.6])
    enumerated = operating_characteristics(
        design, [0.05, 0.1, 0.2, 0.3, 0.45, 0.6], method="enumeration"
    )
    assert 0 < oc.states < enumerated.states


@pytest.mark.parametrize("variant", list(Variant))
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"start_dose": 3, "max_patients": 30},
        {"cohort_size": 4, "expansion_size": 4, "max_dlts_in_expanded": 2},
        {"start_dose": 2, "allow_below_start": False, "stop_when_any_dose_has": 6},
    ],
)
def test_seven_levels_equal_the_enumeration(variant: Variant, options: dict[str, Any]) -> None:
    design = Design(num_doses=7, variant=variant, **options)
    probabilities = (0.02, 0.06, 0.12, 0.2, 0.3, 0.42, 0.55)
    programme = operating_characteristics(design, probabilities).quantities()
    enumeration = operating_characteristics(design, probabilities, method="enumeration")
    expected = enumeration.quantities()
    assert set(programme) == set(expected)
    for name, value in programme.items():
        assert math.isclose(value, expected[name], rel_tol=1e-12, abs_tol=1e-12), name
