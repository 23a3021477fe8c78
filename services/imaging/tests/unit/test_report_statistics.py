"""Descriptive statistics per dose level and visit: n, mean, SD, median, IQR."""

from __future__ import annotations

import math

import pytest

from imaging.reports.statistics import summarise


@pytest.mark.parametrize(
    ("values", "n", "mean", "sd", "median", "q1", "q3"),
    [
        ([], 0, None, None, None, None, None),
        ([5.0], 1, 5.0, None, 5.0, 5.0, 5.0),
        ([1.0, 2.0], 2, 1.5, math.sqrt(0.5), 1.5, 1.25, 1.75),
        # R: quantile(c(1,2,3,4), type = 7) -> 1.75, 2.5, 3.25; sd = 1.290994
        ([4.0, 1.0, 3.0, 2.0], 4, 2.5, 1.2909944, 2.5, 1.75, 3.25),
        ([1.0, float("nan"), 3.0], 2, 2.0, math.sqrt(2.0), 2.0, 1.5, 2.5),
    ],
)
def test_summary_matches_r_type_7_quartiles_and_sample_sd(
    values: list[float],
    n: int,
    mean: float | None,
    sd: float | None,
    median: float | None,
    q1: float | None,
    q3: float | None,
) -> None:
    summary = summarise(values)
    assert summary.n == n
    for got, expected in ((summary.mean, mean), (summary.sd, sd), (summary.median, median)):
        assert got == (None if expected is None else pytest.approx(expected, abs=1e-6))
    assert summary.q1 == (None if q1 is None else pytest.approx(q1))
    assert summary.q3 == (None if q3 is None else pytest.approx(q3))
    if q1 is not None and q3 is not None:
        assert summary.iqr == pytest.approx(q3 - q1)
