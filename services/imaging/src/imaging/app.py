"""The imaging HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from doseline.site_scope import site_scope_dependency
from imaging.assessments import endpoints as assessments
from imaging.ct_analyses import endpoints as ct_analyses
from imaging.db import schema
from imaging.fhir import endpoints as fhir
from imaging.problems import PROBLEMS
from imaging.reports import endpoints as reports
from imaging.schedule import endpoints as schedule
from imaging.settings import ImagingSettings
from imaging.subjects import endpoints as subjects
from imaging.subjects.scope import SCOPED_PARAMETERS

SUMMARY = (
    "Chest CT volumetry, pulmonary function, 6-minute walk, blood gas, SGRQ "
    "and endpoints over time."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz`, `/readyz` and `/problems` needs an `Authorization: Bearer <token>`
header. Errors are RFC 9457 `application/problem+json`; each problem's `type`
(`/problems/{{slug}}`) resolves here to what it means and what to do (`GET /problems` lists them).
"""


def create_app(settings: ImagingSettings | None = None) -> FastAPI:
    return build_app(
        settings or ImagingSettings(),
        schema=schema,
        title="Doseline imaging and outcomes",
        description=DESCRIPTION,
        problem_catalogue=PROBLEMS,
        routers=[
            diagnostics.router,
            schedule.router,
            subjects.router,
            assessments.router,
            ct_analyses.router,
            reports.router,
            fhir.router,
        ],
        router_dependencies=[site_scope_dependency(SCOPED_PARAMETERS)],
    )
