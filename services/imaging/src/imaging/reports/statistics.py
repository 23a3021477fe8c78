"""Descriptive statistics of one group of values: n, mean, SD, median and IQR.

SD is the sample standard deviation (n − 1 in the denominator), undefined for fewer than two
values. Quartiles are linear interpolation between order statistics (Hyndman & Fan type 7, the
default of R and numpy), so the median of an even count is the mean of the two middle values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None

    @property
    def iqr(self) -> float | None:
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1


def quantile(sorted_values: Sequence[float], fraction: float) -> float:
    """Type-7 quantile of values already sorted ascending."""
    position = (len(sorted_values) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


def summarise(values: Sequence[float]) -> Summary:
    finite = sorted(value for value in values if math.isfinite(value))
    n = len(finite)
    if n == 0:
        return Summary(0, None, None, None, None, None)
    mean = math.fsum(finite) / n
    sd = None if n < 2 else math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / (n - 1))
    return Summary(
        n=n,
        mean=mean,
        sd=sd,
        median=quantile(finite, 0.5),
        q1=quantile(finite, 0.25),
        q3=quantile(finite, 0.75),
    )
