"""Infusions on days 1, 4, 7, 10 (±1 day) in the site's calendar; weight; dose per infusion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from enrollment.dosing.schedule import (
    InfusionOrderError,
    InfusionState,
    Timing,
    TooManyInfusionsError,
    WeightError,
    classify_administration,
    dose_per_infusion,
    infusion_schedule,
    infusion_states,
    missed_infusions,
    study_day,
    validate_weight,
)
from enrollment.protocol import Protocol
from escalation import DoseRounding, InvalidWeightError, weight_based_dose

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]

CHENGDU = ZoneInfo("Asia/Shanghai")
FIRST_ON = date(2026, 5, 4)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """An instant at the site, on ``day`` at ``hour`` local time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHENGDU)


def days_after_first(days: int) -> date:
    return FIRST_ON + timedelta(days=days)


FIRST = at(FIRST_ON)


# ---------------------------------------------------------------------------------------------
# The planned schedule


def test_four_infusions_planned_on_days_1_4_7_10_with_one_day_windows(hdmsc: Protocol) -> None:
    schedule = infusion_schedule(hdmsc.infusions, FIRST_ON)
    assert [
        (p.number, p.study_day, p.planned_on, p.window_opens, p.window_closes)
        for p in schedule.infusions
    ] == [
        (1, 1, date(2026, 5, 4), date(2026, 5, 4), date(2026, 5, 4)),
        (2, 4, date(2026, 5, 7), date(2026, 5, 6), date(2026, 5, 8)),
        (3, 7, date(2026, 5, 10), date(2026, 5, 9), date(2026, 5, 11)),
        (4, 10, date(2026, 5, 13), date(2026, 5, 12), date(2026, 5, 14)),
    ]
    assert schedule.last.number == 4


def test_the_schedule_runs_through_a_leap_day(hdmsc: Protocol) -> None:
    schedule = infusion_schedule(hdmsc.infusions, date(2028, 2, 27))
    assert [p.planned_on for p in schedule.infusions] == [
        date(2028, 2, 27),
        date(2028, 3, 1),
        date(2028, 3, 4),
        date(2028, 3, 7),
    ]


@pytest.mark.parametrize("number", [0, 5])
def test_there_is_no_infusion_outside_the_planned_four(hdmsc: Protocol, number: int) -> None:
    with pytest.raises(TooManyInfusionsError, match="plans 4 infusions"):
        infusion_schedule(hdmsc.infusions, FIRST_ON).planned(number)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 2), -2),
        (date(2026, 5, 3), -1),
        (FIRST_ON, 1),
        (date(2026, 5, 13), 10),
        (date(2026, 6, 2), 30),
    ],
)
def test_study_day_1_is_the_first_infusion(day: date, expected: int) -> None:
    assert study_day(FIRST_ON, day) == expected


# ---------------------------------------------------------------------------------------------
# Classifying an administration


def test_the_first_administration_is_infusion_1_on_day_1_and_on_time(hdmsc: Protocol) -> None:
    timing = classify_administration(hdmsc.infusions, hdmsc.site, FIRST)
    assert timing.infusion_number == 1
    assert timing.administered_on == FIRST_ON
    assert timing.study_day == 1
    assert timing.timing is Timing.ON_TIME
    assert timing.days_from_planned == 0
    assert not timing.is_last
    assert not timing.is_deviation
    assert timing.schedule == infusion_schedule(hdmsc.infusions, FIRST_ON)


def test_day_1_is_the_site_calendar_day_not_the_utc_day(hdmsc: Protocol) -> None:
    # 17:30 UTC on 3 May is 01:30 on 4 May in Chengdu.
    timing = classify_administration(
        hdmsc.infusions, hdmsc.site, datetime(2026, 5, 3, 17, 30, tzinfo=UTC)
    )
    assert timing.administered_on == date(2026, 5, 4)
    assert timing.schedule.first_infusion_on == date(2026, 5, 4)


@pytest.mark.parametrize(
    ("day_offset", "timing", "days_from_planned"),
    [
        (1, Timing.OUTSIDE_WINDOW, -2),
        (2, Timing.EARLY, -1),
        (3, Timing.ON_TIME, 0),
        (4, Timing.LATE, 1),
        (5, Timing.OUTSIDE_WINDOW, 2),
        (8, Timing.OUTSIDE_WINDOW, 5),
    ],
)
def test_second_infusion_against_day_4_plus_or_minus_1(
    hdmsc: Protocol, day_offset: int, timing: Timing, days_from_planned: int
) -> None:
    given = at(days_after_first(day_offset))
    result = classify_administration(hdmsc.infusions, hdmsc.site, given, [FIRST])
    assert result.infusion_number == 2
    assert result.study_day == day_offset + 1
    assert result.timing is timing
    assert result.days_from_planned == days_from_planned
    assert result.is_deviation is (timing is Timing.OUTSIDE_WINDOW)


def test_timing_uses_the_site_day_when_the_device_reports_another_zone(hdmsc: Protocol) -> None:
    # 23:30 on 6 May in Berlin (UTC+2) is 05:30 on 7 May in Chengdu: day 4, on time.
    berlin = timezone(timedelta(hours=2))
    given = datetime(2026, 5, 6, 23, 30, tzinfo=berlin)
    result = classify_administration(hdmsc.infusions, hdmsc.site, given, [FIRST])
    assert result.administered_on == date(2026, 5, 7)
    assert result.timing is Timing.ON_TIME


def test_a_late_infusion_does_not_move_the_next_one(hdmsc: Protocol) -> None:
    second = at(days_after_first(5))  # day 6: outside the day-4 window
    third = at(days_after_first(6))  # day 7: the third infusion's planned day
    result = classify_administration(hdmsc.infusions, hdmsc.site, third, [FIRST, second])
    assert (result.infusion_number, result.timing) == (3, Timing.ON_TIME)


def test_the_fourth_infusion_is_the_last(hdmsc: Protocol) -> None:
    given = [at(days_after_first(days)) for days in (0, 3, 6)]
    result = classify_administration(hdmsc.infusions, hdmsc.site, at(days_after_first(9)), given)
    assert (result.infusion_number, result.is_last, result.timing) == (4, True, Timing.ON_TIME)
    assert result.planned.planned_on == date(2026, 5, 13)


def test_a_fifth_infusion_is_refused(hdmsc: Protocol) -> None:
    given = [at(days_after_first(days)) for days in (0, 3, 6, 9)]
    with pytest.raises(
        TooManyInfusionsError,
        match="infusion 5 refused: the protocol plans 4 infusions and 4 are already recorded",
    ):
        classify_administration(hdmsc.infusions, hdmsc.site, at(days_after_first(12)), given)


@pytest.mark.parametrize("given", [FIRST, FIRST - timedelta(hours=1)])
def test_an_administration_not_after_the_previous_one_is_refused(
    hdmsc: Protocol, given: datetime
) -> None:
    with pytest.raises(InfusionOrderError, match="is not after infusion 1"):
        classify_administration(hdmsc.infusions, hdmsc.site, given, [FIRST])


def test_previous_administrations_out_of_time_order_are_refused(hdmsc: Protocol) -> None:
    later = at(days_after_first(3))
    with pytest.raises(InfusionOrderError, match="not in time order"):
        classify_administration(
            hdmsc.infusions, hdmsc.site, at(days_after_first(6)), [later, FIRST]
        )


def test_a_time_without_zone_is_refused(hdmsc: Protocol) -> None:
    naive = datetime(2026, 5, 7, 9, 0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="has no time zone"):
        classify_administration(hdmsc.infusions, hdmsc.site, naive, [FIRST])
    with pytest.raises(ValueError, match="has no time zone"):
        classify_administration(hdmsc.infusions, hdmsc.site, at(days_after_first(3)), [naive])


# ---------------------------------------------------------------------------------------------
# Missed infusions


@pytest.mark.parametrize(
    ("given", "on", "states"),
    [
        (1, date(2026, 5, 5), ["given", "upcoming", "upcoming", "upcoming"]),
        (1, date(2026, 5, 6), ["given", "due", "upcoming", "upcoming"]),
        (1, date(2026, 5, 8), ["given", "due", "upcoming", "upcoming"]),
        (1, date(2026, 5, 9), ["given", "missed", "due", "upcoming"]),
        (2, date(2026, 5, 9), ["given", "given", "due", "upcoming"]),
        (2, date(2026, 5, 15), ["given", "given", "missed", "missed"]),
        (4, date(2026, 6, 1), ["given", "given", "given", "given"]),
    ],
)
def test_an_infusion_whose_window_passed_without_a_record_is_missed(
    hdmsc: Protocol, given: int, on: date, states: list[str]
) -> None:
    schedule = infusion_schedule(hdmsc.infusions, FIRST_ON)
    assert [state.value for _, state in infusion_states(schedule, given, on)] == states
    missed = [
        p.number for p, s in infusion_states(schedule, given, on) if s is InfusionState.MISSED
    ]
    assert [p.number for p in missed_infusions(schedule, given, on)] == missed


@pytest.mark.parametrize("given", [-1, 5])
def test_a_count_of_given_infusions_outside_the_schedule_is_an_error(
    hdmsc: Protocol, given: int
) -> None:
    schedule = infusion_schedule(hdmsc.infusions, FIRST_ON)
    with pytest.raises(ValueError, match="infusions given, but the schedule has 4"):
        infusion_states(schedule, given, FIRST_ON)


# ---------------------------------------------------------------------------------------------
# Weight


@pytest.mark.parametrize(
    "measured_on", [FIRST_ON, FIRST_ON - timedelta(days=1), FIRST_ON - timedelta(days=7)]
)
def test_a_weight_from_the_last_7_days_before_the_first_infusion_is_valid(
    hdmsc: Protocol, measured_on: date
) -> None:
    weight = validate_weight(
        hdmsc.dosing.weight, "62.5", measured_on=measured_on, first_infusion_on=FIRST_ON
    )
    assert weight == Decimal("62.5")


def test_a_weight_8_days_old_is_refused(hdmsc: Protocol) -> None:
    with pytest.raises(
        WeightError,
        match=(
            "weight measured on 2026-04-26 is 8 days before the first infusion on 2026-05-04;"
            " it may be at most 7 days old"
        ),
    ):
        validate_weight(
            hdmsc.dosing.weight, 62, measured_on=date(2026, 4, 26), first_infusion_on=FIRST_ON
        )


def test_a_weight_measured_after_the_first_infusion_is_refused(hdmsc: Protocol) -> None:
    with pytest.raises(WeightError, match="after the first infusion on 2026-05-04"):
        validate_weight(
            hdmsc.dosing.weight, 62, measured_on=date(2026, 5, 5), first_infusion_on=FIRST_ON
        )


@pytest.mark.parametrize(
    ("weight", "valid"),
    [
        (Decimal("29.9"), False),
        (30, True),
        (Decimal("200"), True),
        ("200.1", False),
        (600, False),
    ],
)
def test_weights_outside_30_to_200_kg_are_taken_as_errors(
    hdmsc: Protocol, weight: Decimal | str | int, valid: bool
) -> None:
    def check() -> Decimal:
        return validate_weight(
            hdmsc.dosing.weight, weight, measured_on=FIRST_ON, first_infusion_on=FIRST_ON
        )

    if valid:
        assert check() == Decimal(weight)
    else:
        with pytest.raises((WeightError, InvalidWeightError), match="kg"):
            check()


@pytest.mark.parametrize("weight", [0, -60, "sixty", "NaN", True])
def test_something_that_is_no_weight_is_refused(hdmsc: Protocol, weight: Any) -> None:
    with pytest.raises(InvalidWeightError):
        validate_weight(
            hdmsc.dosing.weight, weight, measured_on=FIRST_ON, first_infusion_on=FIRST_ON
        )


# ---------------------------------------------------------------------------------------------
# Dose per infusion


@pytest.mark.parametrize(
    ("level", "weight", "cells"),
    [
        # The reference patient of the summary: 60 kg.
        (1, "60", "1.98E+7"),
        (2, "60", "6.00E+7"),
        # 3.3e5 × 72.4 = 23,892,000 → 3 significant figures.
        (1, "72.4", "2.39E+7"),
        # 1.0e6 × 55.55 = 55,550,000: a half rounds up.
        (2, "55.55", "5.56E+7"),
        (1, "45.45", "1.50E+7"),
        (1, "30", "9.90E+6"),
        (2, "200", "2.00E+8"),
    ],
)
def test_dose_is_per_kg_dose_times_weight_to_3_significant_figures(
    hdmsc: Protocol, level: int, weight: str, cells: str
) -> None:
    dose = dose_per_infusion(
        hdmsc, level, weight, measured_on=FIRST_ON - timedelta(days=2), first_infusion_on=FIRST_ON
    )
    assert dose.cells == Decimal(cells)
    assert str(dose.cells) == cells
    assert dose.dose_level == level
    assert dose.weight_kg == Decimal(weight)
    assert not dose.weight_capped


def test_dose_is_what_the_escalation_library_computes_for_every_plausible_weight(
    hdmsc: Protocol,
) -> None:
    rounding = DoseRounding(significant_figures=3)
    for level in hdmsc.dose_escalation.dose_levels:
        for tenths in range(300, 2001, 7):
            weight = Decimal(tenths) / 10
            dose = dose_per_infusion(
                hdmsc, level.level, weight, measured_on=FIRST_ON, first_infusion_on=FIRST_ON
            )
            assert dose.calculation == weight_based_dose(level.per_kg, weight, rounding=rounding)


def test_the_weight_is_checked_before_a_dose_is_computed(hdmsc: Protocol) -> None:
    with pytest.raises(WeightError, match="8 days before"):
        dose_per_infusion(
            hdmsc, 1, 60, measured_on=FIRST_ON - timedelta(days=8), first_infusion_on=FIRST_ON
        )


@pytest.mark.parametrize("level", [0, 3])
def test_a_dose_level_not_on_the_ladder_is_an_error(hdmsc: Protocol, level: int) -> None:
    with pytest.raises(KeyError, match="not on the ladder"):
        dose_per_infusion(hdmsc, level, 60, measured_on=FIRST_ON, first_infusion_on=FIRST_ON)


@pytest.mark.parametrize(
    ("weight", "cells", "capped"),
    [("99", "3.27E+7", False), ("100", "3.30E+7", False), ("120", "3.30E+7", True)],
)
def test_with_a_100_kg_cap_a_heavier_subject_gets_the_dose_at_100_kg(
    amended: Amend, weight: str, cells: str, capped: bool
) -> None:
    def cap(document: Document) -> None:
        document["dosing"]["weight_cap_kg"] = 100

    protocol = amended(cap)
    dose = dose_per_infusion(protocol, 1, weight, measured_on=FIRST_ON, first_infusion_on=FIRST_ON)
    assert dose.cells == Decimal(cells)
    assert dose.weight_capped is capped
    assert dose.calculation.capped is capped
    assert dose.weight_kg == Decimal(weight)


def test_a_cap_weight_with_an_unrounded_dose_still_gives_a_rounded_dose(amended: Amend) -> None:
    def cap(document: Document) -> None:
        document["dosing"]["weight_cap_kg"] = "95.55"

    # 3.3e5 × 95.55 = 31,531,500 → 3.15e7, the dose of a 95.55 kg subject exactly.
    protocol = amended(cap)
    dose = dose_per_infusion(protocol, 1, 130, measured_on=FIRST_ON, first_infusion_on=FIRST_ON)
    assert dose.cells == Decimal("3.15E+7")
    assert dose.weight_capped


def test_rounding_to_whole_cells_when_the_protocol_says_decimal_places(amended: Amend) -> None:
    def whole_cells(document: Document) -> None:
        document["dosing"]["rounding"] = {"significant_figures": None, "decimal_places": 0}

    protocol = amended(whole_cells)
    dose = dose_per_infusion(protocol, 1, "72.4", measured_on=FIRST_ON, first_infusion_on=FIRST_ON)
    assert dose.cells == Decimal(23892000)
