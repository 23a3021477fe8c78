"""MTD selection by isotonic regression, shared by BOIN, i3+3 and mTPI-2.

BOIN `select.mtd` (Liu & Yuan 2015; R package BOIN 2.7.2) and `select_mtd` of the R package FIND
(Ji & Zhang, the authors' implementation of i3+3 and mTPI-2) select the same way:

1. Eliminate, as during the trial, every level from the lowest one with at least 3 patients and
   P(DLT rate > target | data) > cutoff (Beta(1, 1) prior); no MTD if level 1 is eliminated.
2. Among the levels given and not eliminated, estimate each DLT rate by the posterior mean under a
   Beta(0.05, 0.05) prior, (y + 0.05) / (n + 0.1), and make the estimates non-decreasing by the
   pool-adjacent-violators algorithm weighted by the inverse posterior variance.
3. Add i x 1e-10 to the i-th estimate, so that among tied estimates the higher level wins below
   the target and the lower one above it, and select the level whose estimate is closest to the
   target (the first one if two are equally close).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    """The selected level (None: no MTD), its isotonic estimate, and its place among the
    candidate levels (1 for the lowest level given and not eliminated)."""

    mtd: int | None
    estimate: float = 0.0
    position: int = 0
    note: str = ""


def pool_adjacent_violators(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The weighted least-squares non-decreasing fit to ``values``."""
    if all(low <= high for low, high in itertools.pairwise(values)):
        return list(values)
    # Each block: [weighted mean, total weight, number of values pooled].
    blocks: list[list[float]] = []
    for value, weight in zip(values, weights, strict=True):
        blocks.append([value, weight, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, total, count = blocks.pop()
            last = blocks[-1]
            pooled = last[1] + total
            last[0] = (last[0] * last[1] + mean * total) / pooled
            last[1] = pooled
            last[2] += count
    fitted: list[float] = []
    for mean, _, count in blocks:
        fitted.extend([mean] * int(count))
    return fitted


def posterior_estimate(dlts: int, patients: int) -> tuple[float, float]:
    """(y + 0.05) / (n + 0.1) and the inverse of its posterior variance (the PAVA weight)."""
    mean = (dlts + 0.05) / (patients + 0.1)
    variance = (dlts + 0.05) * (patients - dlts + 0.05) / ((patients + 0.1) ** 2 * (patients + 1.1))
    return mean, 1.0 / variance


# Selection runs once per final state of an enumeration: the estimates are looked up, row n
# holding (estimate, weight) for 0..n DLTs in n patients.
_ESTIMATES: list[tuple[tuple[float, float], ...]] = []


def _estimates(patients: int) -> tuple[tuple[float, float], ...]:
    while len(_ESTIMATES) <= patients:
        count = len(_ESTIMATES)
        _ESTIMATES.append(tuple(posterior_estimate(dlts, count) for dlts in range(count + 1)))
    return _ESTIMATES[patients]


def select_closest_to_target(
    patients: Sequence[int],
    dlts: Sequence[int],
    *,
    target: float,
    eliminated_from: int | None,
    at_most: float | None = None,
) -> Selection:
    """Steps 2 and 3 of the module doc over the levels below ``eliminated_from``.

    With ``at_most`` (BOIN's `boundMTD`), only levels whose estimate is at most that are
    candidates, and there is no MTD if none is.
    """
    ceiling = len(patients) if eliminated_from is None else eliminated_from - 1
    admissible: list[int] = []
    means: list[float] = []
    weights: list[float] = []
    # Whether the estimates already rise: then pooling has nothing to do (the common case).
    rising = True
    for index in range(ceiling):
        count = patients[index]
        if count:
            try:
                mean, weight = _ESTIMATES[count][dlts[index]]
            except IndexError:
                mean, weight = _estimates(count)[dlts[index]]
            if means and mean < means[-1]:
                rising = False
            admissible.append(index + 1)
            means.append(mean)
            weights.append(weight)
    if not admissible:
        return Selection(None)
    fitted = means if rising else pool_adjacent_violators(means, weights)
    best = 0
    best_distance = math.inf
    for position, estimate in enumerate(fitted):
        broken = estimate + (position + 1) * 1e-10
        # The estimates are non-decreasing, so past ``at_most`` there are no more candidates.
        if at_most is not None and broken > at_most:
            break
        distance = abs(broken - target)
        if distance < best_distance:
            best, best_distance = position, distance
    if best_distance == math.inf:
        return Selection(None)
    return Selection(admissible[best], fitted[best], best + 1)
