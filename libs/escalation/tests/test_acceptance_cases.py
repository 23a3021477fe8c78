"""CASES.md §A, §B, §C and §E and cases-2dose.json, through the library and through the CLI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from escalation import Design, Variant, recommend

# The `advise` and `reject` fixtures (conftest.py) run each case through library and CLI.
Advise = Callable[..., tuple[bool, int | None]]
Reject = Callable[..., str]

ESC, DEESC, EXPAND_TOP = Variant.ESC, Variant.DEESC, Variant.EXPAND_TOP
ALL = tuple(Variant)
INVALID = "invalid"


def go(dose: int) -> tuple[bool, int | None]:
    return True, dose


def stop(mtd: int | None) -> tuple[bool, int | None]:
    return False, mtd


def same(expected: Any) -> dict[Variant, Any]:
    return dict.fromkeys(ALL, expected)


# (case, outcomes, number of dose levels, expected per variant). Sources are in CASES.md.
SECTION_A = [
    ("A 1 of 3 evaluated stays", "1N", 5, same(go(1))),
    ("A 2 of 3 evaluated with a DLT stays", "1NT", 5, same(go(1))),
    ("A 2 DLTs in 2 of 3 still waits for the third", "1TT", 5, same(go(1))),
    ("A 0 of 3 escalates", "1NNN", 5, same(go(2))),
    ("A 1 of 3 expands", "1NNT", 5, same(go(1))),
    ("A 2 of 3", "1NNN 2NTT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
    ("A 4 of 6 evaluated stays", "1NNT 1N", 5, same(go(1))),
    ("A 5 of 6 evaluated stays", "1NNT 1TT", 5, same(go(1))),
    ("A 1 of 6 escalates", "1NNT 1NNN", 5, same(go(2))),
    ("A 2 of 6", "1NNN 2NNT 2NNT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
]

P = "1NNN 2NNN 3NNN 4NNN 5NNT 5TTT"
SECTION_B = [
    ("B1", "", 5, same(go(1))),
    ("B2", "1NNN", 5, same(go(2))),
    ("B3", "1NNT", 5, same(go(1))),
    ("B4", "1NNN 2NNT 2NNN", 5, same(go(3))),
    ("B5", "1NNN 2NNT 2NNT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
    ("B6", "1NNN 2NTT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
    ("B7", "1NNN 2TTT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
    ("B8", "1NTT", 5, same(stop(None))),
    ("B9", "1TTT", 5, same(stop(None))),
    ("B10", "1NNN 2NNN 3NNN 4NNN 5NNN", 5, {ESC: stop(5), DEESC: stop(5), EXPAND_TOP: go(5)}),
    ("B11", "1NNN 2NNN 3NNN 4NNN 5NNT", 5, same(go(5))),
    ("B12", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN", 5, same(stop(5))),
    ("B13", "1NNN 2NNN 3NNN 4NNN 5NTT", 5, {ESC: stop(4), DEESC: go(4), EXPAND_TOP: go(4)}),
    ("B14", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNT", 5, {ESC: stop(4), DEESC: go(4), EXPAND_TOP: go(4)}),
    ("B15", f"{P} 4NNN", 5, {ESC: INVALID, DEESC: stop(4), EXPAND_TOP: stop(4)}),
    ("B16", f"{P} 4NNT", 5, {ESC: INVALID, DEESC: stop(4), EXPAND_TOP: stop(4)}),
    ("B17", f"{P} 4NTT", 5, {ESC: INVALID, DEESC: go(3), EXPAND_TOP: go(3)}),
    ("B18", f"{P} 4NTT 3TTT 2NTT 1NNN", 5, {ESC: INVALID, DEESC: stop(1), EXPAND_TOP: stop(1)}),
    (
        "B19",
        f"{P} 4NTT 3TTT 2NTT 1NTT",
        5,
        {ESC: INVALID, DEESC: stop(None), EXPAND_TOP: stop(None)},
    ),
    ("B21", "1NTN 1NNN 2NTN 2NNN 3NTT", 5, same(stop(2))),
    ("B23", "1NNN 2NNN 3NNT", 5, same(go(3))),
    ("B24", "1NNN 2NNN 3NNT 3NTN", 5, {ESC: stop(2), DEESC: go(2), EXPAND_TOP: go(2)}),
    ("B25", "1NNN 2NTN", 5, same(go(2))),
    ("B26", "1NNN 2NTN 2NNT", 5, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
    ("B27", "1NNN 2TNN 2NNN 3TNN 3TNN", 5, same(stop(2))),
    ("B28", "1NNN 2NNT 2TTT", 4, {ESC: stop(1), DEESC: go(1), EXPAND_TOP: go(1)}),
]

# Histories R accepts only with strict_mode = FALSE: lax mode advises, strict mode refuses.
SECTION_B_LAX = [
    ("B20", "1NNN 2NNN 2NNN 3NTT", 5, {DEESC: stop(2), EXPAND_TOP: stop(2)}),
    ("B22", "1NTN 1NTN 2NTN 2NTN 3NTT", 5, {DEESC: stop(None), EXPAND_TOP: stop(None)}),
    ("R-3p3:L745", "1NNN 1NNT", 5, {ESC: go(2), DEESC: go(2)}),
]

# DEESC started at level 2 of 5 (R-3p3:L806-L1247, strict mode).
STARTED_ABOVE_LEVEL_1 = [
    ("2NNT 2NNN", go(3)),
    ("2NTT", go(1)),
    ("2NNT 2NNT", go(1)),
    ("2NTT 1NNN", stop(1)),
    ("2NNT 2NNT 1NNN", stop(1)),
    ("2NTT 1NNT", go(1)),
    ("2NNT 2NNT 1NNT", go(1)),
    ("2NTT 1NTT", stop(None)),
    ("2NTT 1TTT", stop(None)),
    ("2NNT 2NNT 1NTT", stop(None)),
    ("2NTT 1NNT 1NNN", stop(1)),
    ("2NNT 2NTT 1NNN", stop(1)),
    ("2NTT 1NNT 1NNT", stop(None)),
    ("2NNT 2TTT 1NNT", go(1)),
    ("2NTT 1NNT 1NTT", stop(None)),
]
PARTIAL_COHORT_FAMILIES = [
    f"{prefix} {partial}"
    for prefix in ("2NTT", "2NNT 2NNT", "2NNT 2NTT", "2NNT 2TTT", "2NTT 1NNT")
    for partial in ("1N", "1T", "1NN", "1NT", "1TT")
]


def by_variant(table: list[tuple[str, str, int, dict[Variant, Any]]]) -> list[Any]:
    return [
        pytest.param(variant, outcomes, doses, expected, id=f"{case}-{variant.value}")
        for case, outcomes, doses, per_variant in table
        for variant, expected in per_variant.items()
    ]


@pytest.mark.parametrize(("variant", "outcomes", "num_doses", "expected"), by_variant(SECTION_A))
def test_decision_table_section_a(
    advise: Advise, variant: Variant, outcomes: str, num_doses: int, expected: Any
) -> None:
    assert advise(Design(num_doses=num_doses, variant=variant), outcomes) == expected


@pytest.mark.parametrize(("variant", "outcomes", "num_doses", "expected"), by_variant(SECTION_B))
def test_core_cases_section_b(
    advise: Advise, reject: Reject, variant: Variant, outcomes: str, num_doses: int, expected: Any
) -> None:
    design = Design(num_doses=num_doses, variant=variant)
    if expected == INVALID:
        reject(design, outcomes)
    else:
        assert advise(design, outcomes) == expected


@pytest.mark.parametrize(
    ("variant", "outcomes", "num_doses", "expected"), by_variant(SECTION_B_LAX)
)
def test_off_algorithm_histories_get_advice_in_lax_mode_only(
    advise: Advise, reject: Reject, variant: Variant, outcomes: str, num_doses: int, expected: Any
) -> None:
    design = Design(num_doses=num_doses, variant=variant)
    assert advise(design, outcomes, strict=False) == expected
    reject(design, outcomes, strict=True)


@pytest.mark.parametrize(("outcomes", "expected"), STARTED_ABOVE_LEVEL_1)
def test_trial_started_at_level_2_de_escalates_below_it(
    advise: Advise, outcomes: str, expected: Any
) -> None:
    design = Design(num_doses=5, variant=DEESC, start_dose=2)
    assert advise(design, outcomes) == expected


@pytest.mark.parametrize("outcomes", PARTIAL_COHORT_FAMILIES)
def test_incomplete_cohort_at_level_1_stays_at_level_1(advise: Advise, outcomes: str) -> None:
    design = Design(num_doses=5, variant=DEESC, start_dose=2)
    assert advise(design, outcomes) == go(1)


def test_mtd_declared_on_one_cohort_when_the_level_above_is_already_ruled_out() -> None:
    # CASES.md §G5: R stops with MTD = 1 after 3 patients, the level above being too toxic.
    decision = recommend(Design(num_doses=5, variant=DEESC, start_dose=2), "2NTT 1NNN")
    assert decision.mtd == 1
    assert decision.tallies[0].patients == 3
    assert "level 2 is too toxic" in decision.reason


def test_clintrials_example_stops_after_15_patients_with_two_dlts_at_level_3() -> None:
    decision = recommend(Design(num_doses=5, variant=ESC), "1NNN 2TNN 2NNN 3TNN 3TNN")
    assert (decision.continue_trial, decision.mtd) == (False, 2)
    assert decision.tallies[2].dlts == 2
    assert sum(tally.patients for tally in decision.tallies) == 15


def two_dose_cases(data: dict[str, Any]) -> list[tuple[Variant, str, Any]]:
    keys = {ESC: "derived_2doses_ESC", DEESC: "derived_2doses_DEESC"}
    keys[EXPAND_TOP] = "derived_2doses_EXPAND_TOP"
    return [
        (variant, row["outcomes"], (row["cont"], None if row["rec"] == "none" else int(row["rec"])))
        for variant, key in keys.items()
        for row in data[key]
    ]


def test_two_dose_table_has_every_state_of_section_c(cases_2dose: dict[str, Any]) -> None:
    counts = Counter(variant for variant, _, _ in two_dose_cases(cases_2dose))
    assert counts == {ESC: 25, DEESC: 45, EXPAND_TOP: 61}


def test_every_two_dose_state_gets_the_derived_decision(
    advise: Advise, cases_2dose: dict[str, Any]
) -> None:
    wrong = []
    for variant, outcomes, expected in two_dose_cases(cases_2dose):
        got = advise(Design(num_doses=2, variant=variant), outcomes)
        if got != expected:
            wrong.append((variant.value, outcomes, expected, got))
    assert wrong == []


def test_two_dose_states_a_variant_never_reaches_are_refused_in_strict_mode(
    reject: Reject, cases_2dose: dict[str, Any]
) -> None:
    cases = two_dose_cases(cases_2dose)
    everything = {outcomes for _, outcomes, _ in cases}
    checked = 0
    for variant in Variant:
        reachable = {outcomes for v, outcomes, _ in cases if v is variant}
        for outcomes in sorted(everything - reachable):
            reject(Design(num_doses=2, variant=variant), outcomes)
            checked += 1
    # §C: 36 rows are unreachable under ESC, 16 under DEESC, none under EXPAND_TOP.
    assert checked == 36 + 16


# CASES.md §E: histories the algorithm cannot produce, refused in strict mode.
STRICT_REFUSALS = [
    ("E1 a level with no DLT given to a 4th patient", "1NNN 1N", ALL, "patient 4"),
    ("E2", "1NNN 1NNN", ALL, "patient 4"),
    ("E3 skipped level 3", "1NNN 2NNT 2NNN 4N", ALL, "called for level 3"),
    ("E4 de-escalation without de-escalation", "1NNN 2TTT 1N", (ESC,), "stopped"),
    ("E5 a patient after 2 DLTs in 3 at level 1", "1NTT 1N", ALL, "stopped"),
    ("E5 a 4th patient after 0 DLTs in 3", "1NNN 1T", ALL, "called for level 2"),
    ("E6 more than 6 at a level", "1NNT 1NNN 1N", ALL, "patient 7"),
    ("E7 an earlier cohort incomplete", "1NN 2NNN", ALL, "wait for the cohort"),
    ("E7 two cohorts in progress", "1NNN 2N 3N", ALL, "wait for the cohort"),
    ("trial starting above the start level", "2NNN", ALL, "called for level 1"),
]


@pytest.mark.parametrize(
    ("variant", "outcomes", "fragment"),
    [
        pytest.param(variant, outcomes, fragment, id=f"{case}-{variant.value}")
        for case, outcomes, variants, fragment in STRICT_REFUSALS
        for variant in variants
    ],
)
def test_strict_mode_refuses_a_history_the_design_cannot_produce(
    reject: Reject, variant: Variant, outcomes: str, fragment: str
) -> None:
    assert fragment in reject(Design(num_doses=5, variant=variant), outcomes)


def test_de_escalation_history_is_valid_for_the_de_escalating_variants(advise: Advise) -> None:
    # E4 is refused for ESC only: with de-escalation, "1NNN 2TTT 1N" waits at level 1.
    for variant in (DEESC, EXPAND_TOP):
        assert advise(Design(num_doses=5, variant=variant), "1NNN 2TTT 1N") == go(1)


@pytest.mark.parametrize("strict", [True, False])
def test_level_above_the_number_of_doses_is_refused_in_both_modes(
    reject: Reject, strict: bool
) -> None:
    # E11: R "maximum dose given exceeds number of doses".
    assert "5 dose levels" in reject(Design(num_doses=5, variant=ESC), "1NNN 6N", strict=strict)


def test_more_than_six_at_the_level_being_decided_is_refused_even_in_lax_mode(
    reject: Reject,
) -> None:
    # E6: R lax mode warns then fails internally; no 3+3 rule applies to a 7th patient.
    message = reject(Design(num_doses=5, variant=ESC), "1NNT 1NNN 1N", strict=False)
    assert "level 1 has 7 patients" in message


def test_lax_mode_advises_and_lists_every_departure() -> None:
    decision = recommend(Design(num_doses=5, variant=ESC), "1NNN 1NNT", strict=False)
    assert (decision.continue_trial, decision.next_dose) == (True, 2)
    assert decision.warnings[0].startswith("lax mode")
    # Patient 4 departs from the design; patients 5 and 6 complete the cohort it opened.
    assert decision.warnings[1:] == (
        "patient 4 was given level 1, where the design called for level 2"
        " (0 DLTs in 3 at level 1: escalate to level 2)",
    )


def test_a_valid_history_gives_no_warnings_in_lax_mode() -> None:
    decision = recommend(Design(num_doses=5, variant=DEESC), "1NNN 2NTT 1NNN", strict=False)
    assert decision.warnings == ()
    assert (decision.continue_trial, decision.mtd) == (False, 1)


def test_incomplete_cohort_is_reported_as_incomplete_and_stays() -> None:
    # E12: clintrials refuses partial cohorts; R (and Doseline) wait for the cohort to complete.
    decision = recommend(Design(num_doses=5, variant=ESC), "1NNN 2TT")
    assert (decision.continue_trial, decision.next_dose, decision.cohort_complete) == (
        True,
        2,
        False,
    )
    assert "2 of 3" in decision.reason
    assert "already too toxic" in decision.reason


def test_reason_cites_the_rule() -> None:
    design = Design(num_doses=5, variant=ESC)
    assert recommend(design, "1NNN 2NTN").reason == "1 DLT in 3 at level 2: treat 3 more at level 2"
    assert recommend(design, "1NNN").reason == "0 DLTs in 3 at level 1: escalate to level 2"
    assert recommend(design, "1NNN 2NTT").reason == (
        "2 DLTs in 3 at level 2, over the limit of 1: level 2 is too toxic: stop;"
        " level 1 is the MTD"
    )
    assert recommend(design, "1NTT").reason == (
        "2 DLTs in 3 at level 1, over the limit of 1: level 1 is too toxic, and there is no lower"
        " level: stop; no level is the MTD"
    )
