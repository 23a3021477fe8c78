"""Response models of endpoints over time."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from imaging.reports.series import Series
from imaging.reports.service import GroupSummary
from imaging.reports.statistics import Summary


class PointOut(BaseModel):
    assessment_id: uuid.UUID
    performed_on: date
    visit: str | None
    out_of_window: bool
    value: float
    change_from_baseline: float | None
    relative_change_from_baseline: float | None
    relative_change_undefined_reason: str | None
    represents_visit: bool = Field(description="The point used for this visit in statistics")


class SeriesOut(BaseModel):
    kind: str
    metric: str
    baseline: float | None
    points: list[PointOut]

    @classmethod
    def of(cls, series: Series) -> SeriesOut:
        return cls(
            kind=series.kind,
            metric=series.metric,
            baseline=series.baseline,
            points=[
                PointOut(
                    assessment_id=p.assessment_id,
                    performed_on=p.performed_on,
                    visit=p.visit,
                    out_of_window=p.out_of_window,
                    value=p.value,
                    change_from_baseline=p.change,
                    relative_change_from_baseline=p.relative_change,
                    relative_change_undefined_reason=p.relative_change_undefined_reason,
                    represents_visit=p.represents_visit,
                )
                for p in series.points
            ],
        )


class SubjectOutcomesOut(BaseModel):
    subject_id: str
    trial_id: str
    dose_level: int | None
    series: list[SeriesOut]


class SummaryOut(BaseModel):
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None

    @classmethod
    def of(cls, summary: Summary) -> SummaryOut:
        return cls(
            n=summary.n,
            mean=summary.mean,
            sd=summary.sd,
            median=summary.median,
            q1=summary.q1,
            q3=summary.q3,
            iqr=summary.iqr,
        )


class GroupOut(BaseModel):
    dose_level: int | None
    visit: str
    value: SummaryOut
    change_from_baseline: SummaryOut

    @classmethod
    def of(cls, group: GroupSummary) -> GroupOut:
        return cls(
            dose_level=group.dose_level,
            visit=group.visit,
            value=SummaryOut.of(group.value),
            change_from_baseline=SummaryOut.of(group.change),
        )


class TrialSummaryOut(BaseModel):
    trial_id: str
    metric: str
    groups: list[GroupOut]
