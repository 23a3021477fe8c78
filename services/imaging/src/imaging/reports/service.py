"""Endpoints over time from the stored assessments: per-subject series and per-dose statistics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doseline.errors import InvalidInput
from imaging.assessments import repository as assessments
from imaging.assessments.derivation import METRICS
from imaging.assessments.models import AssessmentRow
from imaging.reports.series import Observation, Series, series_of
from imaging.reports.statistics import Summary, summarise
from imaging.schedule import service as schedule_service
from imaging.schedule.visits import BASELINE
from imaging.subjects import repository as subjects_repository

KIND_OF_METRIC = {metric: kind for kind, metrics in METRICS.items() for metric in metrics}


def observation(row: AssessmentRow) -> Observation:
    return Observation(
        assessment_id=row.id,
        kind=row.kind,
        performed_at=row.performed_at,
        performed_on=row.performed_on,
        visit=row.visit,
        days_from_target=row.days_from_target,
        out_of_window=row.out_of_window,
        metrics=row.metrics,
    )


def subject_series(session: Session, subject_id: str) -> list[Series]:
    rows = assessments.of_subject(session, subject_id, include_voided=False)
    observations = [observation(row) for row in rows]
    kinds = {row.kind for row in rows}
    return [
        series
        for kind, metrics in METRICS.items()
        if kind in kinds
        for metric in metrics
        if (series := series_of(observations, kind, metric)).points
    ]


@dataclass(frozen=True)
class GroupSummary:
    dose_level: int | None
    visit: str
    value: Summary
    change: Summary


def require_metric(metric: str) -> str:
    kind = KIND_OF_METRIC.get(metric)
    if kind is None:
        raise InvalidInput.at(
            ["query", "metric"], "unknown metric; one of " + ", ".join(sorted(KIND_OF_METRIC))
        )
    return kind


def trial_summary(
    session: Session,
    trial_id: str,
    metric: str,
    *,
    include_out_of_window: bool = True,
    can_access_site: Callable[[str], bool] = lambda _site: True,
) -> list[GroupSummary]:
    """n, mean, SD, median and IQR of one metric and of its change from baseline, per dose level
    and visit; one value per subject and visit (the point that represents the visit). Points
    outside their visit window count unless `include_out_of_window` is false (a SAP choice).
    Only the subjects of the sites `can_access_site` admits are counted (site scope)."""
    kind = require_metric(metric)
    dose_of = {
        subject.subject_id: subject.dose_level
        for subject in subjects_repository.subjects_of_trial(session, trial_id)
        if can_access_site(subject.site_id)
    }
    by_subject: dict[str, list[Observation]] = {}
    for row in assessments.recorded_of_trial(session, trial_id, kind):
        if row.subject_id not in dose_of:
            continue
        by_subject.setdefault(row.subject_id, []).append(observation(row))
    values: dict[tuple[int | None, str], list[float]] = {}
    changes: dict[tuple[int | None, str], list[float]] = {}
    for subject_id, observations in by_subject.items():
        series = series_of(observations, kind, metric)
        for point in series.points:
            if not point.represents_visit or point.visit is None:
                continue
            if point.out_of_window and not include_out_of_window:
                continue
            group = (dose_of.get(subject_id), point.visit)
            values.setdefault(group, []).append(point.value)
            if point.change is not None and point.visit != BASELINE:
                changes.setdefault(group, []).append(point.change)
    schedule = schedule_service.schedule_for(session, trial_id)
    order = {code: index for index, code in enumerate(schedule.codes if schedule else ())}
    groups = sorted(
        values,
        key=lambda group: (
            group[0] is None,
            group[0] or 0,
            order.get(group[1], len(order)),
            group[1],
        ),
    )
    return [
        GroupSummary(
            dose_level=group[0],
            visit=group[1],
            value=summarise(values[group]),
            change=summarise(changes.get(group, [])),
        )
        for group in groups
    ]


def visit_order(session: Session, trial_id: str) -> Sequence[str]:
    schedule = schedule_service.schedule_for(session, trial_id)
    return schedule.codes if schedule else (BASELINE,)
