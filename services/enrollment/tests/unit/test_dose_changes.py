"""Doses that do not go as planned, as pure rules: a reduced dose, a weight measured again, and
evaluability when a required infusion was given short."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from enrollment.dlt_windows.rules import Evaluability, assess_evaluability, dlt_window
from enrollment.dosing.schedule import WeightReading, dose_per_infusion, redose_decision
from enrollment.protocol import Protocol, ProtocolError
from enrollment.protocol.config import RedoseOnNewWeight

from .conftest import Amend, Document

FIRST_ON = date(2026, 5, 4)
SERIES = WeightReading(Decimal("70.00"), date(2026, 5, 2))
TEN_PERCENT = RedoseOnNewWeight(min_change_percent=Decimal(10))


def test_a_reduction_gives_its_percent_of_the_level_and_keeps_the_whole_dose(
    hdmsc: Protocol,
) -> None:
    dose = dose_per_infusion(
        hdmsc, 1, "70", measured_on=FIRST_ON, first_infusion_on=FIRST_ON, percent_of_dose=50
    )

    # 3.3 × 10^5 cells/kg × 50 % × 70 kg = 1.155 × 10^7, rounded half up to 3 figures.
    assert (dose.per_kg, dose.cells, dose.full_cells) == (
        Decimal("1.65E+5"),
        Decimal("1.16E+7"),
        Decimal("2.31E+7"),
    )
    assert dose.percent_of_dose == 50


@pytest.mark.parametrize("percent", [0, 101, True])
def test_a_reduction_outside_1_to_100_percent_is_an_error(hdmsc: Protocol, percent: Any) -> None:
    with pytest.raises(ValueError, match="percent_of_dose"):
        dose_per_infusion(
            hdmsc,
            1,
            "70",
            measured_on=FIRST_ON,
            first_infusion_on=FIRST_ON,
            percent_of_dose=percent,
        )


def test_without_a_rule_a_weight_measured_again_never_re_doses() -> None:
    decision = redose_decision(None, SERIES, WeightReading(Decimal("90"), date(2026, 5, 6)))

    assert decision.redose is False
    assert "the protocol does not re-dose" in decision.basis


@pytest.mark.parametrize(
    ("new_kg", "redose"),
    [
        ("77.00", True),  # +10.0 %: the threshold itself re-doses
        ("76.99", False),
        ("63.00", True),  # a loss counts as much as a gain
        ("63.01", False),
        ("70.00", False),
    ],
)
def test_a_weight_re_doses_when_it_differs_by_the_protocols_percent_or_more(
    new_kg: str, redose: bool
) -> None:
    decision = redose_decision(
        TEN_PERCENT, SERIES, WeightReading(Decimal(new_kg), date(2026, 5, 6))
    )

    assert decision.redose is redose
    assert "70 kg of 2026-05-02" in decision.basis
    assert "10%" in decision.basis


def test_a_required_infusion_given_short_makes_the_subject_not_evaluable(
    hdmsc: Protocol,
) -> None:
    window = dlt_window(hdmsc.dlt_window, FIRST_ON)
    short = ["infusion 1 was not given in full (9240000 of the 23100000 cells of the level)"]

    open_window = assess_evaluability(
        hdmsc.evaluability,
        window,
        infusions_received=4,
        confirmed_dlt=False,
        today=window.end,
        short_infusions=short,
    )
    closed = assess_evaluability(
        hdmsc.evaluability,
        window,
        infusions_received=4,
        confirmed_dlt=False,
        today=date(2026, 6, 3),
        short_infusions=short,
    )
    with_dlt = assess_evaluability(
        hdmsc.evaluability,
        window,
        infusions_received=4,
        confirmed_dlt=True,
        today=date(2026, 6, 3),
        short_infusions=short,
    )

    assert open_window.status is Evaluability.PENDING
    assert closed.status is Evaluability.NOT_EVALUABLE
    assert "received 4 of the 4 required infusions, but infusion 1 was not given" in closed.reason
    assert with_dlt.status is Evaluability.EVALUABLE


def test_the_shipped_protocol_requires_infusion_1_in_full_and_does_not_re_dose(
    hdmsc: Protocol,
) -> None:
    assert hdmsc.evaluability.full_dose_infusions == (1,)
    assert hdmsc.dosing.redose_on_new_weight is None


def test_writing_the_defaults_out_does_not_change_the_protocols_hash(
    hdmsc: Protocol, amended: Amend
) -> None:
    def without_the_options(document: Document) -> None:
        del document["dosing"]["redose_on_new_weight"]
        del document["evaluability"]["full_dose_infusions"]

    def with_a_rule(document: Document) -> None:
        document["dosing"]["redose_on_new_weight"] = {"min_change_percent": 10}

    assert amended(without_the_options).content_hash == hdmsc.content_hash
    assert amended(with_a_rule).content_hash != hdmsc.content_hash


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ([5], "beyond infusions.count 4"),
        ([1, 1], "lists an infusion twice"),
        ([0], "infusion numbers start at 1"),
    ],
)
def test_full_dose_infusions_must_name_planned_infusions_once(
    amended: Amend, numbers: list[int], message: str
) -> None:
    def change(document: Document) -> None:
        document["evaluability"]["full_dose_infusions"] = numbers

    with pytest.raises(ProtocolError, match=message):
        amended(change)


@pytest.mark.parametrize("percent", [0, 101, "ten"])
def test_a_re_dosing_threshold_must_be_a_percent(amended: Amend, percent: Any) -> None:
    def change(document: Document) -> None:
        document["dosing"]["redose_on_new_weight"] = {"min_change_percent": percent}

    with pytest.raises(ProtocolError, match=r"redose_on_new_weight\.min_change_percent"):
        amended(change)
