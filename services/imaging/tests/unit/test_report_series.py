"""A metric's series: baseline, change from baseline, and which point represents each visit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from imaging.reports.series import Observation, series_of

DAY_1 = date(2026, 1, 5)


def observed(
    day: date,
    visit: str | None,
    value: float | None,
    *,
    metric: str = "pf_ratio_mmhg",
    kind: str = "blood_gas",
    days_from_target: int | None = 0,
    out_of_window: bool = False,
) -> Observation:
    return Observation(
        assessment_id=uuid.uuid4(),
        kind=kind,
        performed_at=datetime.combine(day, datetime.min.time(), UTC),
        performed_on=day,
        visit=visit,
        days_from_target=days_from_target,
        out_of_window=out_of_window,
        metrics={metric: value},
    )


def test_the_latest_baseline_is_the_reference_and_changes_are_against_it() -> None:
    series = series_of(
        [
            observed(DAY_1 - timedelta(days=10), "baseline", 300.0),
            observed(DAY_1 - timedelta(days=2), "baseline", 320.0),
            observed(DAY_1 + timedelta(days=40), "month_1", 400.0),
        ],
        "blood_gas",
        "pf_ratio_mmhg",
    )
    assert series.baseline == 320.0
    month_1 = series.points[-1]
    assert month_1.change == pytest.approx(80.0)
    assert month_1.relative_change == pytest.approx(0.25)


def test_without_a_baseline_the_changes_are_undefined_and_say_why() -> None:
    series = series_of(
        [observed(DAY_1 + timedelta(days=40), "month_1", 400.0)], "blood_gas", "pf_ratio_mmhg"
    )
    assert series.baseline is None
    assert series.points[0].change is None
    assert series.points[0].relative_change_undefined_reason == "no baseline value"


def test_a_baseline_of_0_leaves_the_relative_change_undefined_but_not_the_change() -> None:
    series = series_of(
        [
            observed(DAY_1 - timedelta(days=2), "baseline", 0.0, metric="sgrq_total", kind="sgrq"),
            observed(DAY_1 + timedelta(days=40), "month_1", 12.5, metric="sgrq_total", kind="sgrq"),
        ],
        "sgrq",
        "sgrq_total",
    )
    assert series.points[1].change == pytest.approx(12.5)
    assert series.points[1].relative_change is None
    assert series.points[1].relative_change_undefined_reason == "baseline value is 0"


def test_the_in_window_point_nearest_the_target_represents_the_visit() -> None:
    late_out = observed(
        DAY_1 + timedelta(days=50), "month_1", 1.0, days_from_target=1, out_of_window=True
    )
    early_in = observed(DAY_1 + timedelta(days=36), "month_1", 2.0, days_from_target=-5)
    near_in = observed(DAY_1 + timedelta(days=42), "month_1", 3.0, days_from_target=2)
    series = series_of([late_out, early_in, near_in], "blood_gas", "pf_ratio_mmhg")
    represented = [p.value for p in series.points if p.represents_visit]
    assert represented == [3.0]
    assert len(series.points) == 3


def test_missing_values_and_pending_visits_stay_out_of_the_statistics() -> None:
    series = series_of(
        [
            observed(DAY_1 - timedelta(days=2), "baseline", None),
            observed(DAY_1 + timedelta(days=40), None, 300.0, days_from_target=None),
        ],
        "blood_gas",
        "pf_ratio_mmhg",
    )
    assert [p.value for p in series.points] == [300.0]
    assert series.points[0].represents_visit is False
