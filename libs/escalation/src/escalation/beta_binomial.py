"""Beta posteriors of a DLT rate under a Beta(1, 1) prior, computed exactly by binomial sums.

With y DLTs in n patients the posterior of the DLT rate is Beta(y + 1, n - y + 1). For whole
parameters a and b the Beta distribution function is a binomial tail,
I_x(a, b) = P(Binomial(a + b - 1, x) >= a), so every probability the interval designs need is a
finite sum of binomial terms: no special functions, no numerical integration.
"""

from __future__ import annotations

import math


def beta_cdf(x: float, a: int, b: int) -> float:
    """P(p <= x) for p ~ Beta(a, b), whole a, b >= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    n = a + b - 1
    # Sum the smaller tail: fewer terms, and no cancellation when the answer is near 0 or 1.
    if a - 1 <= n - a:
        below = math.fsum(math.comb(n, k) * x**k * (1.0 - x) ** (n - k) for k in range(a))
        return 1.0 - below
    return math.fsum(math.comb(n, k) * x**k * (1.0 - x) ** (n - k) for k in range(a, n + 1))


def prob_rate_above(threshold: float, dlts: int, patients: int) -> float:
    """P(DLT rate > threshold | dlts in patients), Beta(1, 1) prior (BOIN, i3+3, mTPI-2)."""
    return 1.0 - beta_cdf(threshold, dlts + 1, patients - dlts + 1)


def elimination_boundary(target: float, patients: int, cutoff: float) -> int | None:
    """The fewest DLTs in ``patients`` that make P(rate > target) > cutoff, None if no count does
    or there are fewer than 3 patients (BOIN `get.boundary`: "require treating at least 3
    patients before eliminating a dose")."""
    if patients < 3:
        return None
    for dlts in range(1, patients + 1):
        if prob_rate_above(target, dlts, patients) > cutoff:
            return dlts
    return None
