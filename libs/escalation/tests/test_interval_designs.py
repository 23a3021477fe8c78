"""BOIN, i3+3 and mTPI-2: their decision tables, elimination, MTD selection and exact OC."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pytest

from escalation import (
    BOIN,
    MTPI2,
    Cohort,
    DoseFindingDesign,
    I3Plus3,
    InvalidHistoryError,
    OperatingCharacteristics,
    operating_characteristics,
    recommend,
)
from escalation.isotonic import pool_adjacent_violators, select_closest_to_target

NA = None

# BOIN::get.boundary(target, ncohort = 4, cohortsize = 3)$full_boundary_tab, n = 1..12:
# "Escalate if # of DLT <=", "Deescalate if # of DLT >=", "Eliminate if # of DLT >=".
BOIN_TABLES = {
    0.3: (
        (0.236, 0.359),
        (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2),
        (1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5),
        (NA, NA, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7),
    ),
    0.25: (
        (0.197, 0.298),
        (0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2),
        (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4),
        (NA, NA, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6),
    ),
    0.2: (
        (0.157, 0.238),
        (0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1),
        (1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
        (NA, NA, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5),
    ),
}


@pytest.mark.parametrize("target", sorted(BOIN_TABLES))
def test_boin_boundaries_reproduce_get_boundary(target: float) -> None:
    (lambda_e, lambda_d), escalate, deescalate, eliminate = BOIN_TABLES[target]
    design = BOIN(num_doses=5, target=target, num_cohorts=4)
    assert round(design.lambda_e, 3) == lambda_e
    assert round(design.lambda_d, 3) == lambda_d
    rows = design.boundaries
    assert [row.patients for row in rows] == list(range(1, 13))
    assert tuple(row.escalate_at_most for row in rows) == escalate
    assert tuple(row.deescalate_at_least for row in rows) == deescalate
    assert tuple(row.eliminate_at_least for row in rows) == eliminate


def test_boin_defaults_are_the_package_defaults() -> None:
    design = BOIN(num_doses=5, target=0.3, num_cohorts=10)
    assert design.p_saf == pytest.approx(0.18)
    assert design.p_tox == pytest.approx(0.42)
    assert (design.cohort_size, design.start_dose, design.elimination_cutoff) == (3, 1, 0.95)
    assert (design.early_stop_patients, design.extra_safe, design.bound_mtd) == (100, False, False)
    assert design.max_sample_size == 30


def advice(design: DoseFindingDesign, outcomes: str) -> tuple[bool, int | None]:
    decision = recommend(design, outcomes)
    return decision.continue_trial, decision.next_dose if decision.continue_trial else decision.mtd


BOIN_3 = BOIN(num_doses=5, target=0.3, num_cohorts=10, start_dose=2)


@pytest.mark.parametrize(
    ("outcomes", "expected", "why"),
    [
        # n = 3: escalate on 0 (at lambda_e * 3 = 0.71, floor 0); 1 is just above: stay.
        ("2NNN", (True, 3), "escalate"),
        ("2NNT", (True, 2), "stay"),
        # de-escalate from 2 (ceil(lambda_d * 3) = 2); 1 is just below: stay.
        ("2NTT", (True, 1), "de-escalate"),
        # eliminate from 3 DLTs in 3: level 2 and above are gone, level 1 is next.
        ("2TTT", (True, 1), "eliminated"),
        # n = 6: escalate on 1 (floor(1.42)), stay on 2, de-escalate from 3 (ceil(2.15)).
        ("2NNT 2NNN", (True, 3), "escalate"),
        ("2NNT 2NNT", (True, 2), "stay"),
        ("2NNT 2NTT", (True, 1), "de-escalate"),
        # n = 6, 4 DLTs: eliminated (4 = elimination boundary), 3 is just below it.
        ("2NTT 1NNN 2TTN", (True, 1), "eliminated"),
    ],
)
def test_boin_decides_on_each_side_of_each_boundary(
    outcomes: str, expected: tuple[bool, int | None], why: str
) -> None:
    assert advice(BOIN_3, outcomes) == expected
    assert why in recommend(BOIN_3, outcomes).reason


def test_boin_never_escalates_into_an_eliminated_level() -> None:
    # 3 DLTs in 3 at level 2 eliminates levels 2 to 5; level 1 then stays however safe it is.
    decision = recommend(BOIN_3, "2TTT 1NNN")
    assert (decision.continue_trial, decision.next_dose) == (True, 1)
    assert "level 2 is eliminated" in decision.reason


def test_boin_stops_with_no_mtd_when_level_1_is_eliminated() -> None:
    design = BOIN(num_doses=3, target=0.3, num_cohorts=10)
    decision = recommend(design, "1TTT")
    assert (decision.continue_trial, decision.mtd) == (False, None)
    assert "level 1 is too toxic" in decision.reason


def test_boin_stays_at_the_top_and_at_the_bottom_when_it_cannot_move() -> None:
    design = BOIN(num_doses=2, target=0.3, num_cohorts=10)
    assert advice(design, "1NNN 2NNN") == (True, 2)
    assert advice(design, "1NTT") == (True, 1)


def test_boin_extra_safe_stops_when_level_1_is_likely_too_toxic() -> None:
    # 2 of 3 at level 1: P(rate > 0.3) = 0.916, above 0.95 - 0.05 but below 0.95.
    plain = BOIN(num_doses=3, target=0.3, num_cohorts=10)
    safe = BOIN(num_doses=3, target=0.3, num_cohorts=10, extra_safe=True)
    assert advice(plain, "1NTT") == (True, 1)
    assert advice(safe, "1NTT") == (False, None)


def test_boin_selects_by_isotonic_regression_at_the_sample_size() -> None:
    design = BOIN(num_doses=3, target=0.3, num_cohorts=4)
    # 12 patients: level 1 0/3, level 2 1/6, level 3 1/3 -> estimates rise; closest to 0.3.
    decision = recommend(design, "1NNN 2NNT 2NNN 3NNT")
    assert decision.continue_trial is False
    assert decision.mtd == 3
    assert "isotonic regression" in decision.reason


def test_boin_early_stop_when_the_current_level_reaches_n_earlystop_and_stays() -> None:
    design = BOIN(num_doses=3, target=0.3, num_cohorts=10, early_stop_patients=6)
    assert advice(design, "1NNN 2NNT") == (True, 2)
    assert advice(design, "1NNN 2NNT 2NNT")[0] is False
    # De-escalating is not staying: the trial goes on.
    assert advice(design, "1NNN 2NNT 2NTT") == (True, 1)


def test_boin_bound_mtd_refuses_a_level_estimated_above_lambda_d() -> None:
    free = BOIN(num_doses=1, target=0.3, num_cohorts=1)
    bound = BOIN(num_doses=1, target=0.3, num_cohorts=1, bound_mtd=True)
    # 2 of 3: estimate 0.66, above lambda_d = 0.359, but not eliminated (that takes 3).
    assert advice(free, "1NTT") == (False, 1)
    assert advice(bound, "1NTT") == (False, None)
    # 1 of 3: estimate 0.34 is within the bound.
    assert advice(bound, "1NNT") == (False, 1)


I3 = I3Plus3(num_doses=5, target=0.3, num_cohorts=10)
MT = MTPI2(num_doses=5, target=0.3, num_cohorts=10)


@pytest.mark.parametrize(
    ("patients", "dlts", "expected"),
    [
        (3, 0, "E"),
        (3, 1, "S"),  # 0.33 inside [0.25, 0.35]
        (3, 2, "D"),  # 0.67 above; 1/3 = 0.33 is not below 0.25
        (4, 1, "S"),  # 0.25, the lower bound itself, is inside
        (2, 1, "S"),  # 0.5 above, but 0/2 would be below: the i3+3 rule stays
        (6, 1, "E"),  # 0.17 below
        (6, 2, "S"),
        (6, 3, "D"),  # 0.5 above and 2/6 = 0.33 is not below
        (20, 7, "S"),  # 0.35, the upper bound itself, is inside
        (20, 8, "D"),
    ],
)
def test_i3plus3_decision_table(patients: int, dlts: int, expected: str) -> None:
    assert I3.table_decision(dlts, patients)[0] == expected


def test_i3plus3_default_interval_is_the_papers() -> None:
    assert I3.interval == (0.25, 0.35)
    assert MT.interval == (0.25, 0.35)


def test_mtpi2_intervals_cut_the_unit_interval_around_ei() -> None:
    assert MT.intervals == (
        (0.0, 0.05),
        (0.05, 0.15),
        (0.15, 0.25),
        (0.25, 0.35),
        (0.35, 0.45),
        (0.45, 0.55),
        (0.55, 0.65),
        (0.65, 0.75),
        (0.75, 0.85),
        (0.85, 0.95),
        (0.95, 1.0),
    )


@pytest.mark.parametrize(
    ("patients", "dlts", "expected"),
    [
        (2, 0, "E"),
        (2, 1, "D"),
        (3, 0, "E"),
        (3, 1, "S"),
        (3, 2, "D"),
        (6, 1, "E"),
        (6, 2, "S"),
        (6, 3, "D"),
        (9, 2, "E"),
        (9, 3, "S"),
        (9, 4, "D"),
    ],
)
def test_mtpi2_decision_table(patients: int, dlts: int, expected: str) -> None:
    assert MT.table_decision(dlts, patients)[0] == expected


def test_i3plus3_and_mtpi2_eliminate_like_boin() -> None:
    for design in (I3, MT):
        assert design.elimination_table[3] == 3
        assert design.elimination_table[6] == 4
        assert advice(design, "1TTT") == (False, None)


def test_i3plus3_extra_safe_steps_down_from_a_level_estimated_above_the_interval() -> None:
    design = I3Plus3(num_doses=2, target=0.3, num_cohorts=2)
    safe = I3Plus3(num_doses=2, target=0.3, num_cohorts=2, extra_safe=True)
    # 1 of 3 at level 1, then 2 of 3 at level 2: level 2 eliminated? No (2/3 < 3); pooled
    # estimates 0.33 and 0.65 -> level 1 is closest; both agree.
    assert advice(design, "1NNT 1NNN")[1] == advice(safe, "1NNT 1NNN")[1]
    # 2 of 6 at level 1 only: estimate 0.34 < 0.35 keeps level 1; at 0.5 it steps down to none.
    assert advice(safe, "1NNT 1NTT") == (False, None)
    assert advice(design, "1NNT 1NTT") == (False, 1)


def test_pool_adjacent_violators_pools_the_decreasing_runs() -> None:
    assert pool_adjacent_violators([0.1, 0.3, 0.2, 0.4], [1, 1, 1, 1]) == pytest.approx(
        [0.1, 0.25, 0.25, 0.4]
    )
    assert pool_adjacent_violators([0.5, 0.1], [1, 3]) == pytest.approx([0.2, 0.2])


def test_ties_go_to_the_higher_level_below_the_target_and_the_lower_one_above() -> None:
    # Equal tallies give equal estimates: 0/3 is below 0.3, 3/3 above.
    low = select_closest_to_target((3, 3), (0, 0), target=0.3, eliminated_from=None)
    high = select_closest_to_target((3, 3), (3, 3), target=0.9, eliminated_from=None)
    assert low.mtd == 2
    assert high.mtd == 1


def brute_force(design: DoseFindingDesign, probabilities: Sequence[float]) -> dict[str, float]:
    """Every patient history through `recommend`, one cohort at a time, with no merging."""
    n = design.num_doses
    totals: dict[str, float] = {}

    def add(name: str, value: float) -> None:
        totals[name] = totals.get(name, 0.0) + value

    def walk(history: tuple[Cohort, ...], weight: float) -> None:
        decision = recommend(design, history)
        if not decision.continue_trial:
            add("prob_no_mtd" if decision.mtd is None else f"prob_mtd[{decision.mtd}]", weight)
            add(f"prob_stop_at[{history[-1].dose}]", weight)
            for tally in decision.tallies:
                add(f"expected_patients[{tally.dose}]", weight * tally.patients)
                add(f"expected_dlts[{tally.dose}]", weight * tally.dlts)
            add(f"prob_sample_size[{sum(t.patients for t in decision.tallies)}]", weight)
            return
        assert decision.next_dose is not None
        dose = decision.next_dose
        size = design.next_cohort_size(decision.state, dose)
        p = probabilities[dose - 1]
        for k in range(size + 1):
            chance = math.comb(size, k) * p**k * (1 - p) ** (size - k)
            walk((*history, Cohort(dose, (True,) * k + (False,) * (size - k))), weight * chance)

    walk((), 1.0)
    for name in ("prob_mtd", "prob_stop_at", "expected_patients", "expected_dlts"):
        for dose in range(1, n + 1):
            totals.setdefault(f"{name}[{dose}]", 0.0)
    totals.setdefault("prob_no_mtd", 0.0)
    return totals


SMALL = [
    pytest.param(BOIN(num_doses=3, target=0.3, num_cohorts=4), id="boin"),
    pytest.param(
        BOIN(num_doses=3, target=0.25, num_cohorts=4, extra_safe=True, early_stop_patients=6),
        id="boin-extra-safe-early-stop",
    ),
    pytest.param(I3Plus3(num_doses=3, target=0.3, num_cohorts=4, start_dose=2), id="i3+3"),
    pytest.param(MTPI2(num_doses=3, target=0.3, num_cohorts=4, cohort_size=2), id="mtpi2"),
]


@pytest.mark.parametrize("design", SMALL)
def test_exact_characteristics_equal_every_history_through_recommend(
    design: DoseFindingDesign,
) -> None:
    probabilities = (0.1, 0.3, 0.5)
    exact = operating_characteristics(design, probabilities)
    expected = brute_force(design, probabilities)
    got = {
        name: value
        for name, value in exact.quantities().items()
        if not name.startswith(("expected_total", "prob_mtd_on"))
    }
    assert set(got) == set(expected)
    for name, value in got.items():
        assert math.isclose(value, expected[name], rel_tol=1e-12, abs_tol=1e-12), name


def test_boin_five_levels_36_patients_sums_to_one_and_counts_its_states() -> None:
    design = BOIN(num_doses=5, target=0.3, num_cohorts=12)
    oc: OperatingCharacteristics = operating_characteristics(design, (0.05, 0.10, 0.20, 0.30, 0.45))
    assert math.isclose(oc.prob_no_mtd + sum(oc.prob_mtd), 1.0, abs_tol=1e-12)
    # 30,564 states decided on the way, and 22,354 distinct tallies at 36 patients.
    assert oc.states == 52_918
    assert oc.sample_size[-1][0] == 36


@pytest.mark.parametrize(
    ("design", "options", "fragment"),
    [
        (BOIN, {"target": 0.7}, "target must be between 0.05 and 0.6"),
        (BOIN, {"target": 0.3, "p_saf": 0.29}, "p_saf 0.29 must be below the target"),
        (BOIN, {"target": 0.3, "p_tox": 0.31}, "p_tox 0.31 must be above the target"),
        (BOIN, {"target": 0.3, "num_cohorts": 0}, "num_cohorts must be at least 1"),
        (BOIN, {"target": 0.3, "num_cohorts": 101}, "num_cohorts must be at most 100"),
        (BOIN, {"target": 0.3, "cohort_size": 13}, "cohort_size must be at most 12"),
        (I3Plus3, {"target": 0.3, "ei_lower": 0.31}, "must contain the target"),
        (MTPI2, {"target": 0.3, "ei_upper": 0.31}, "too close to the target"),
        (I3Plus3, {"target": 0.3, "start_dose": 6}, "start_dose must be at most 5"),
    ],
)
def test_interval_designs_refuse_impossible_settings(
    design: type[DoseFindingDesign], options: dict[str, object], fragment: str
) -> None:
    settings: dict[str, object] = {"num_doses": 5, "num_cohorts": 10} | options
    with pytest.raises(ValueError, match=re.escape(fragment)):
        design(**settings)


def test_a_history_longer_than_the_sample_size_is_refused() -> None:
    design = BOIN(num_doses=2, target=0.3, num_cohorts=1)
    with pytest.raises(InvalidHistoryError, match="stopped"):
        recommend(design, "1NNN 2NNN")
