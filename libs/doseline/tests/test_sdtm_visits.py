"""VISITNUM and VISIT of the protocol's visits, as every service's SDTM datasets name them."""

from __future__ import annotations

from doseline.sdtm.visits import visit_name, visit_numbers
from enrollment.protocol import load_shipped_protocol


def test_hdmsc_rp_01_numbers_screening_baseline_four_infusions_then_the_follow_ups() -> None:
    rules = load_shipped_protocol("hdmsc-rp-01").trial_rules()
    assert len(rules.infusions.days) == 4
    assert visit_numbers(rules) == {
        "screening": 1.0,
        "baseline": 2.0,
        "month-1": 7.0,
        "month-2": 8.0,
        "month-3": 9.0,
        "month-6": 10.0,
        "month-12": 11.0,
    }


def test_a_visit_is_named_by_its_protocol_id_in_capitals() -> None:
    assert (visit_name("baseline"), visit_name("month-1")) == ("BASELINE", "MONTH-1")
