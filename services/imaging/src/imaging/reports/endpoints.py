"""HTTP API of endpoints over time: per-subject series, per-dose statistics, plots."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from doseline.auth import READ_ROLES, Principal, require_roles
from doseline.http import DbSession
from imaging.reports import plots, service
from imaging.reports.schemas import GroupOut, SeriesOut, SubjectOutcomesOut, TrialSummaryOut
from imaging.subjects import service as subjects

router = APIRouter(tags=["endpoints over time"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
TrialId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]

PLOTS = {
    "lesion-fraction-change": (
        "lesion_fraction",
        "Change of lesion fraction from baseline (p − p0)",
        "p − p0",
    ),
    "fev1-percent-predicted": (
        "fev1_percent_predicted",
        "FEV1 % predicted by dose level",
        "FEV1 % predicted",
    ),
    "dlco-percent-predicted": (
        "dlco_percent_predicted",
        "DLCO % predicted by dose level",
        "DLCO % predicted",
    ),
    "fvc-percent-predicted": (
        "fvc_percent_predicted",
        "FVC % predicted by dose level",
        "FVC % predicted",
    ),
}
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@router.get(
    "/v1/subjects/{subject_id}/outcomes",
    summary="Every outcome of a subject as a time series with change from baseline",
)
def get_subject_outcomes(subject_id: str, session: DbSession, _: Reader) -> SubjectOutcomesOut:
    subject = subjects.require_known(session, subject_id, reading=True)
    return SubjectOutcomesOut(
        subject_id=subject.subject_id,
        trial_id=subject.trial_id,
        dose_level=subject.dose_level,
        series=[SeriesOut.of(s) for s in service.subject_series(session, subject_id)],
    )


@router.get(
    "/v1/trials/{trial_id}/outcome-summary",
    summary="n, mean, SD, median and IQR of a metric and its change, per dose level and visit",
)
def get_outcome_summary(
    trial_id: TrialId,
    session: DbSession,
    principal: Reader,
    metric: Annotated[str, Query(max_length=60, examples=["lesion_fraction"])],
    include_out_of_window: bool = True,
) -> TrialSummaryOut:
    groups = service.trial_summary(
        session,
        trial_id,
        metric,
        include_out_of_window=include_out_of_window,
        can_access_site=principal.can_access_site,
    )
    return TrialSummaryOut(
        trial_id=trial_id, metric=metric, groups=[GroupOut.of(g) for g in groups]
    )


@router.get(
    "/v1/trials/{trial_id}/plots/{plot}",
    summary="A plot of an endpoint over the visits by dose level (PNG or SVG)",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}, "image/svg+xml": {}},
            "description": "The figure",
        }
    },
)
def get_plot(
    trial_id: TrialId,
    plot: Literal[
        "lesion-fraction-change",
        "fev1-percent-predicted",
        "fvc-percent-predicted",
        "dlco-percent-predicted",
    ],
    session: DbSession,
    principal: Reader,
    format: plots.ImageFormat = "png",
    include_out_of_window: bool = True,
) -> Response:
    metric, title, y_label = PLOTS[plot]
    groups = service.trial_summary(
        session,
        trial_id,
        metric,
        include_out_of_window=include_out_of_window,
        can_access_site=principal.can_access_site,
    )
    use_change = plot == "lesion-fraction-change"
    image = plots.line_plot(
        [g for g in groups if not (use_change and g.visit == "baseline")],
        visits=service.visit_order(session, trial_id),
        use_change=use_change,
        title=f"{trial_id}: {title}",
        y_label=y_label,
        image_format=format,
    )
    return Response(content=image, media_type=MEDIA_TYPES[format])
