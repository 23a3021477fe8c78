"""A subject's outcome metrics as time series, each point with its change from baseline.

Baseline (PROTOCOL.md): before the first infusion. The baseline value of a metric is the latest
recorded assessment at the baseline visit that has the metric; with none, changes are undefined.
Change = value − baseline; relative change = (value − baseline) / baseline, undefined when the
baseline is 0 (for the lesion fraction p this is (p − p0) / p0, computed by ct.volumetry).
At a visit with several assessments of a kind, the one nearest the visit's target day represents
the visit in per-dose statistics (in-window before out-of-window); every point stays in the series.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from imaging.ct.volumetry import change_from_baseline
from imaging.schedule.visits import BASELINE


@dataclass(frozen=True)
class Observation:
    """One recorded assessment as the series see it."""

    assessment_id: uuid.UUID
    kind: str
    performed_at: datetime
    performed_on: date
    visit: str | None
    days_from_target: int | None
    out_of_window: bool
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class Point:
    assessment_id: uuid.UUID
    performed_on: date
    visit: str | None
    out_of_window: bool
    value: float
    change: float | None
    relative_change: float | None
    relative_change_undefined_reason: str | None
    represents_visit: bool


@dataclass(frozen=True)
class Series:
    kind: str
    metric: str
    baseline: float | None
    points: tuple[Point, ...]


def _baseline(observations: Sequence[Observation], metric: str) -> float | None:
    candidates = [
        o for o in observations if o.visit == BASELINE and o.metrics.get(metric) is not None
    ]
    if not candidates:
        return None
    latest = max(candidates, key=lambda o: (o.performed_at, str(o.assessment_id)))
    return latest.metrics[metric]


def _change(
    metric: str, value: float, baseline: float | None
) -> tuple[float | None, float | None, str | None]:
    if baseline is None:
        return None, None, "no baseline value"
    if metric == "lesion_fraction":
        change = change_from_baseline(value, baseline)
        return (
            change.absolute_change,
            change.relative_change,
            change.relative_change_undefined_reason,
        )
    if baseline == 0:
        return value - baseline, None, "baseline value is 0"
    return value - baseline, (value - baseline) / baseline, None


def _representatives(observations: Sequence[Observation], metric: str) -> set[uuid.UUID]:
    best: dict[str, Observation] = {}
    for o in observations:
        if o.visit is None or o.metrics.get(metric) is None:
            continue
        rank = (o.out_of_window, abs(o.days_from_target or 0), o.performed_at)
        current = best.get(o.visit)
        if current is None or rank < (
            current.out_of_window,
            abs(current.days_from_target or 0),
            current.performed_at,
        ):
            best[o.visit] = o
    return {o.assessment_id for o in best.values()}


def series_of(observations: Sequence[Observation], kind: str, metric: str) -> Series:
    """The series of one metric, in the order the assessments were done."""
    relevant = sorted(
        (o for o in observations if o.kind == kind and o.metrics.get(metric) is not None),
        key=lambda o: (o.performed_at, str(o.assessment_id)),
    )
    baseline = _baseline(relevant, metric)
    representatives = _representatives(relevant, metric)
    points = []
    for o in relevant:
        value = o.metrics[metric]
        if value is None:  # pragma: no cover - filtered above
            continue
        change, relative, reason = _change(metric, value, baseline)
        points.append(
            Point(
                assessment_id=o.assessment_id,
                performed_on=o.performed_on,
                visit=o.visit,
                out_of_window=o.out_of_window,
                value=value,
                change=change,
                relative_change=relative,
                relative_change_undefined_reason=reason,
                represents_visit=o.assessment_id in representatives,
            )
        )
    return Series(kind=kind, metric=metric, baseline=baseline, points=tuple(points))
