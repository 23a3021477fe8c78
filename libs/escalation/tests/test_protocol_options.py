"""Protocol options: start level, no de-escalation below it, stop at N on a level, patient cap."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from escalation import Design, Variant, recommend

Advise = Callable[..., tuple[bool, int | None]]
ESC, DEESC, EXPAND_TOP = Variant.ESC, Variant.DEESC, Variant.EXPAND_TOP


# PROTOCOL.md (HDMSC-RP-01, 2 levels, EXPAND_TOP): "stop as soon as any dose has 6 patients".
@pytest.mark.parametrize(
    ("outcomes", "default", "literal"),
    [
        ("1TNN 1NNN", (True, 2), (False, 1)),
        ("1NNN 2TNN 2TNN", (True, 1), (False, None)),
        ("1NNN 2NNN", (True, 2), (True, 2)),
        ("1NNN 2NNN 2NNN", (False, 2), (False, 2)),
        ("1NNN 2TTN", (True, 1), (True, 1)),
    ],
)
def test_stopping_once_any_level_has_six_patients(
    advise: Advise,
    outcomes: str,
    default: tuple[bool, int | None],
    literal: tuple[bool, int | None],
) -> None:
    assert advise(Design(num_doses=2, variant=EXPAND_TOP), outcomes) == default
    design = Design(num_doses=2, variant=EXPAND_TOP, stop_when_any_dose_has=6)
    assert advise(design, outcomes) == literal


def test_literal_stop_rule_says_why_it_stopped() -> None:
    design = Design(num_doses=2, variant=EXPAND_TOP, stop_when_any_dose_has=6)
    reason = recommend(design, "1TNN 1NNN").reason
    assert reason == (
        "1 DLT in 6 at level 1: escalate to level 2; but level 1 already has 6 patients and the"
        " protocol stops once any level has 6: stop; level 1 is the MTD"
    )


# CASES.md §G7: R stop_at_n(15) gives continue = FALSE with recommended dose 4, never given.
@pytest.mark.parametrize(("variant", "mtd"), [(ESC, 3), (DEESC, 2), (EXPAND_TOP, 2)])
def test_cap_on_total_patients_never_declares_a_dose_never_given(
    advise: Advise, variant: Variant, mtd: int
) -> None:
    design = Design(num_doses=5, variant=variant, max_patients=15)
    assert advise(design, "1NTN 1NNN 2NTN 2NNN 3NNN") == (False, mtd)


def test_cap_reason_names_the_level_the_design_would_have_given_next() -> None:
    design = Design(num_doses=5, variant=DEESC, max_patients=15)
    decision = recommend(design, "1NTN 1NNN 2NTN 2NNN 3NNN")
    assert decision.next_dose is None
    assert decision.reason == (
        "0 DLTs in 3 at level 3: escalate to level 4; but 3 more would bring the total to 18,"
        " over the cap of 15 patients: stop; level 2 is the MTD"
    )


def test_cap_stops_before_a_cohort_that_would_exceed_it() -> None:
    # 12 patients treated, cap 14: a cohort of 3 would make 15, so the trial stops at 12.
    design = Design(num_doses=5, variant=ESC, max_patients=14)
    decision = recommend(design, "1NNN 2NNN 3NNN 4NNN")
    assert (decision.continue_trial, decision.mtd) == (False, 4)


def test_patients_beyond_the_cap_are_refused_in_strict_mode() -> None:
    design = Design(num_doses=5, variant=ESC, max_patients=6)
    with pytest.raises(ValueError, match="cap of 6 patients"):
        recommend(design, "1NNN 2NNN 3NNN")


@pytest.mark.parametrize(
    ("outcomes", "below_allowed", "start_is_floor"),
    [
        ("2NTT", (True, 1), (False, None)),
        ("2NNN 3NTT", (True, 2), (True, 2)),
        ("2NNN 3NTT 2NTT", (True, 1), (False, None)),
        ("2NNN 3NTT 2NNN", (False, 2), (False, 2)),
    ],
)
def test_de_escalation_below_the_starting_level_is_a_protocol_choice(
    advise: Advise,
    outcomes: str,
    below_allowed: tuple[bool, int | None],
    start_is_floor: tuple[bool, int | None],
) -> None:
    # CASES.md §G4: R and bcrm go below the start; simFastBOIN never does.
    assert advise(Design(num_doses=4, variant=DEESC, start_dose=2), outcomes) == below_allowed
    floor = Design(num_doses=4, variant=DEESC, start_dose=2, allow_below_start=False)
    assert advise(floor, outcomes) == start_is_floor


def test_escalation_only_never_declares_a_level_below_the_start_that_was_never_given() -> None:
    decision = recommend(Design(num_doses=4, variant=ESC, start_dose=2), "2NTT")
    assert (decision.continue_trial, decision.mtd) == (False, None)
    assert "level 1 was never given" in decision.reason


def test_generalised_a_plus_b_design_uses_its_own_thresholds(advise: Advise) -> None:
    # A 4+4 design: escalate on 0/4, expand on 1/4, tolerate at most 1/8.
    design = Design(
        num_doses=3, variant=DEESC, cohort_size=4, expansion_size=4, max_dlts_in_expanded=1
    )
    assert advise(design, "1NNNN") == (True, 2)
    assert advise(design, "1NNNN 2TNNN") == (True, 2)
    assert advise(design, "1NNNN 2TNNN 2NNNN") == (True, 3)
    assert advise(design, "1NNNN 2TNNN 2TNNN") == (True, 1)
    assert advise(design, "1NNNN 2TNNN 2TNNN 1NNNN") == (False, 1)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"num_doses": 0}, "num_doses must be at least 1"),
        ({"num_doses": 2.5}, "num_doses must be a whole number"),
        ({"variant": "korn"}, "variant 'korn' is not one of"),
        ({"start_dose": 4}, "start_dose 4 is not a dose level"),
        ({"cohort_size": 0}, "must be at least 1"),
        ({"max_dlts_to_escalate": 2}, "DLT thresholds must satisfy"),
        ({"max_dlts_to_expand": 3, "max_dlts_in_expanded": 3}, "below cohort_size"),
        ({"max_dlts_in_expanded": 6}, "below cohort_size + expansion_size"),
        ({"stop_when_any_dose_has": 0}, "stop_when_any_dose_has must be at least 1"),
        ({"max_patients": 2}, "smaller than one cohort"),
        ({"allow_below_start": "no"}, "allow_below_start must be True or False"),
    ],
)
def test_design_refuses_impossible_settings(options: dict[str, Any], fragment: str) -> None:
    settings: dict[str, Any] = {"num_doses": 3, "variant": ESC} | options
    with pytest.raises(ValueError, match=re.escape(fragment)):
        Design(**settings)


def test_variant_given_as_its_name_is_accepted() -> None:
    name: Any = "expand-top"  # as a design document names it
    assert Design(num_doses=2, variant=name).variant is EXPAND_TOP
