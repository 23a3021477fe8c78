"""Exact operating characteristics: published figures, closed form, brute force, simulation."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation import (
    Cohort,
    Design,
    OperatingCharacteristics,
    Variant,
    operating_characteristics,
    recommend,
    simulate,
)
from escalation.rules import patients_for_next_cohort

ACCEPTANCE_PROBABILITIES = (0.05, 0.15, 0.30, 0.45)

# Designs covering every variant and option, small enough to enumerate patient histories.
OPTION_SETS: list[dict[str, Any]] = [
    {},
    {"start_dose": 2},
    {"start_dose": 2, "allow_below_start": False},
    {"stop_when_any_dose_has": 6},
    {"max_patients": 9},
    {"max_patients": 14, "stop_when_any_dose_has": 3},
    {"cohort_size": 2, "expansion_size": 4, "max_dlts_to_expand": 1, "max_dlts_in_expanded": 2},
    {
        "cohort_size": 4,
        "expansion_size": 2,
        "max_dlts_to_escalate": 1,
        "max_dlts_to_expand": 2,
        "max_dlts_in_expanded": 2,
    },
]
DESIGNS = [
    pytest.param(Design(num_doses=3, variant=variant, **options), id=f"{variant.value}-{options}")
    for variant in Variant
    for options in OPTION_SETS
]


def test_esc_with_four_levels_matches_the_published_operating_characteristics() -> None:
    oc = operating_characteristics(
        Design(num_doses=4, variant=Variant.ESC), ACCEPTANCE_PROBABILITIES
    )
    assert round(oc.prob_no_mtd, 4) == 0.0266
    assert [round(p, 4) for p in oc.prob_mtd] == [0.1813, 0.4006, 0.2998, 0.0917]
    assert round(oc.expected_total_patients, 3) == 12.355
    assert round(oc.expected_total_dlts, 3) == 2.523


@pytest.mark.parametrize(
    ("variant", "expected"),
    [(Variant.ESC, 0.735), (Variant.DEESC, 0.065), (Variant.EXPAND_TOP, 0.0)],
)
def test_probability_of_an_mtd_declared_on_three_patients(
    variant: Variant, expected: float
) -> None:
    # CASES.md §G1: 0.735 under ESC, 0.065 under DEESC (the top-dose case only).
    oc = operating_characteristics(Design(num_doses=4, variant=variant), ACCEPTANCE_PROBABILITIES)
    assert round(oc.prob_mtd_on_single_cohort, 3) == expected


@pytest.mark.parametrize("design", DESIGNS)
def test_probabilities_sum_to_one(design: Design) -> None:
    oc = operating_characteristics(design, (0.1, 0.25, 0.4))
    assert abs(oc.prob_no_mtd + sum(oc.prob_mtd) - 1.0) <= 1e-12
    assert abs(sum(oc.prob_stop_at) - 1.0) <= 1e-12
    assert math.isclose(oc.expected_total_patients, sum(oc.expected_patients), rel_tol=1e-12)
    assert math.isclose(oc.expected_total_dlts, sum(oc.expected_dlts), rel_tol=1e-12)


def test_six_level_designs_sum_to_one_for_every_variant() -> None:
    for variant in Variant:
        oc = operating_characteristics(
            Design(num_doses=6, variant=variant), (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)
        )
        assert abs(oc.prob_no_mtd + sum(oc.prob_mtd) - 1.0) <= 1e-12
        assert abs(sum(oc.prob_stop_at) - 1.0) <= 1e-12


def brute_force(design: Design, probabilities: Sequence[float]) -> OperatingCharacteristics:
    """Every patient history, one by one through `recommend`, with no state merging."""
    n = design.num_doses
    no_mtd = 0.0
    mtd, stop_at, patients, dlts = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    single = 0.0
    sample_size: dict[int, float] = {}

    def walk(history: tuple[Cohort, ...], weight: float) -> None:
        nonlocal no_mtd, single
        decision = recommend(design, history)
        if not decision.continue_trial:
            if decision.mtd is None:
                no_mtd += weight
            else:
                mtd[decision.mtd - 1] += weight
                if decision.tallies[decision.mtd - 1].patients < design.full_cohort:
                    single += weight
            stop_at[history[-1].dose - 1] += weight
            for tally in decision.tallies:
                patients[tally.dose - 1] += weight * tally.patients
                dlts[tally.dose - 1] += weight * tally.dlts
            total = sum(tally.patients for tally in decision.tallies)
            sample_size[total] = sample_size.get(total, 0.0) + weight
            return
        assert decision.next_dose is not None
        dose = decision.next_dose
        size = patients_for_next_cohort(design, decision.tallies[dose - 1])
        p = probabilities[dose - 1]
        for k in range(size + 1):
            chance = math.comb(size, k) * p**k * (1 - p) ** (size - k)
            walk((*history, Cohort(dose, (True,) * k + (False,) * (size - k))), weight * chance)

    walk((), 1.0)
    return OperatingCharacteristics(
        prob_no_mtd=no_mtd,
        prob_mtd=tuple(mtd),
        prob_stop_at=tuple(stop_at),
        expected_patients=tuple(patients),
        expected_dlts=tuple(dlts),
        expected_total_patients=sum(patients),
        expected_total_dlts=sum(dlts),
        prob_mtd_on_single_cohort=single,
        sample_size=tuple(sorted(sample_size.items())),
    )


def assert_same(exact: OperatingCharacteristics, other: OperatingCharacteristics) -> None:
    """Every quantity equal to 1e-12; the sample-size distribution too when ``other`` has it."""
    expected = other.quantities()
    got = exact.quantities()
    if not other.sample_size:
        got = {name: value for name, value in got.items() if not name.startswith("prob_sample")}
    assert set(got) == set(expected)
    for name, value in got.items():
        assert math.isclose(value, expected[name], rel_tol=1e-12, abs_tol=1e-12), name


@pytest.mark.parametrize("design", DESIGNS)
def test_exact_characteristics_equal_brute_force_enumeration_of_every_history(
    design: Design,
) -> None:
    probabilities = (0.1, 0.25, 0.4)
    assert_same(
        operating_characteristics(design, probabilities), brute_force(design, probabilities)
    )


def esc_closed_form(design: Design, probabilities: Sequence[float]) -> OperatingCharacteristics:
    """Escalation-only A+B from level 1 in closed form (Lin & Shih 2001, without de-escalation)."""
    a, b = design.cohort_size, design.expansion_size
    c, d, e = design.max_dlts_to_escalate, design.max_dlts_to_expand, design.max_dlts_in_expanded

    def pmf(size: int, k: int, p: float) -> float:
        return math.comb(size, k) * p**k * (1 - p) ** (size - k)

    def cdf(size: int, k: int, p: float) -> float:
        return sum(pmf(size, j, p) for j in range(min(k, size) + 1))

    first_pass = [cdf(a, c, p) for p in probabilities]
    expand = [sum(pmf(a, k, p) for k in range(c + 1, d + 1)) for p in probabilities]
    passes = [
        first_pass[i] + sum(pmf(a, k, p) * cdf(b, e - k, p) for k in range(c + 1, d + 1))
        for i, p in enumerate(probabilities)
    ]
    n = len(probabilities)
    reach = [math.prod(passes[:i]) for i in range(n)]
    mtd = [reach[i + 1] * (1 - passes[i + 1]) for i in range(n - 1)] + [reach[-1] * passes[-1]]
    single = [reach[i] * first_pass[i] * (1 - passes[i + 1]) for i in range(n - 1)]
    single.append(reach[-1] * first_pass[-1])
    patients = [reach[i] * (a + b * expand[i]) for i in range(n)]
    dlts = [reach[i] * p * (a + b * expand[i]) for i, p in enumerate(probabilities)]
    return OperatingCharacteristics(
        prob_no_mtd=1 - passes[0],
        prob_mtd=tuple(mtd),
        prob_stop_at=tuple([reach[i] * (1 - passes[i]) for i in range(n - 1)] + [reach[-1]]),
        expected_patients=tuple(patients),
        expected_dlts=tuple(dlts),
        expected_total_patients=sum(patients),
        expected_total_dlts=sum(dlts),
        prob_mtd_on_single_cohort=sum(single),
    )


@st.composite
def escalation_only_designs(draw: st.DrawFn) -> Design:
    a = draw(st.integers(1, 5))
    b = draw(st.integers(1, 5))
    c = draw(st.integers(0, a - 1))
    d = draw(st.integers(c, a - 1))
    e = draw(st.integers(d, a + b - 1))
    return Design(
        num_doses=draw(st.integers(1, 6)),
        variant=Variant.ESC,
        cohort_size=a,
        expansion_size=b,
        max_dlts_to_escalate=c,
        max_dlts_to_expand=d,
        max_dlts_in_expanded=e,
    )


@settings(max_examples=60, deadline=None)
@given(design=escalation_only_designs(), data=st.data())
def test_escalation_only_closed_form_equals_path_enumeration(
    design: Design, data: st.DataObject
) -> None:
    probabilities = data.draw(
        st.lists(st.floats(0, 1), min_size=design.num_doses, max_size=design.num_doses)
    )
    assert_same(
        operating_characteristics(design, probabilities), esc_closed_form(design, probabilities)
    )


SIMULATED = [
    *(pytest.param(Design(num_doses=4, variant=v), id=v.value) for v in Variant),
    pytest.param(
        Design(
            num_doses=4,
            variant=Variant.EXPAND_TOP,
            start_dose=2,
            stop_when_any_dose_has=6,
            max_patients=15,
        ),
        id="expand-top-with-protocol-limits",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("design", SIMULATED)
def test_simulation_of_200000_trials_lands_within_4_standard_errors_of_exact(
    design: Design,
) -> None:
    exact = operating_characteristics(design, ACCEPTANCE_PROBABILITIES).quantities()
    result = simulate(design, ACCEPTANCE_PROBABILITIES, trials=200_000, seed=20_240_601)
    estimate = result.estimate.quantities()
    error = result.standard_error.quantities()
    for name, value in exact.items():
        if error[name] == 0.0:
            # Every simulated trial had the same value: only a certainty can do that.
            assert math.isclose(estimate[name], value, abs_tol=1e-12), name
        else:
            assert abs(estimate[name] - value) <= 4 * error[name], name


def test_simulation_is_reproducible_from_its_seed() -> None:
    design = Design(num_doses=4, variant=Variant.DEESC)
    first = simulate(design, ACCEPTANCE_PROBABILITIES, trials=500, seed=7)
    assert first == simulate(design, ACCEPTANCE_PROBABILITIES, trials=500, seed=7)
    assert first != simulate(design, ACCEPTANCE_PROBABILITIES, trials=500, seed=8)


def test_certain_toxicity_means_no_mtd_and_none_means_the_top_level() -> None:
    for variant in Variant:
        design = Design(num_doses=3, variant=variant)
        assert operating_characteristics(design, (1.0, 1.0, 1.0)).prob_no_mtd == 1.0
        never = operating_characteristics(design, (0.0, 0.0, 0.0))
        assert never.prob_mtd == (0.0, 0.0, 1.0)
        assert never.expected_total_patients == (12.0 if variant is Variant.EXPAND_TOP else 9.0)


@pytest.mark.parametrize("variant", list(Variant))
def test_cap_of_15_patients_never_binds_with_two_levels(variant: Variant) -> None:
    # CASES.md §G7 and PROTOCOL.md: with two levels 3+3 treats at most 12 patients.
    probabilities = (0.2, 0.35)
    uncapped = operating_characteristics(Design(num_doses=2, variant=variant), probabilities)
    capped = operating_characteristics(
        Design(num_doses=2, variant=variant, max_patients=15), probabilities
    )
    assert capped == uncapped


def test_stopping_once_any_level_has_six_changes_the_hdmsc_design() -> None:
    # PROTOCOL.md: the literal reading "stop as soon as any dose has 6 patients" is optional.
    probabilities = (0.15, 0.3)
    default = operating_characteristics(
        Design(num_doses=2, variant=Variant.EXPAND_TOP), probabilities
    )
    literal = operating_characteristics(
        Design(num_doses=2, variant=Variant.EXPAND_TOP, stop_when_any_dose_has=6), probabilities
    )
    # Level 1 expanded to 6 (1 DLT in 3, then none) now ends the trial before level 2 is tried,
    # and a level 2 that fails on 6 is no longer followed by confirming level 1.
    assert literal.prob_mtd[1] < default.prob_mtd[1]
    assert literal.prob_no_mtd > default.prob_no_mtd
    assert literal.expected_total_patients < default.expected_total_patients
    assert literal.expected_patients[1] < default.expected_patients[1]


@pytest.mark.parametrize(
    ("probabilities", "fragment"),
    [
        ((0.1, 0.2), "2 true DLT probabilities given for a design with 3"),
        ((0.1, 0.2, 1.5), "level 3 must be in [0, 1]"),
        ((0.1, float("nan"), 0.3), "level 2 must be in [0, 1]"),
        ((0.1, "0.2", 0.3), "level 2 is not a number"),
    ],
)
def test_impossible_true_dlt_probabilities_are_refused(
    probabilities: Sequence[Any], fragment: str
) -> None:
    design = Design(num_doses=3, variant=Variant.ESC)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        operating_characteristics(design, probabilities)
