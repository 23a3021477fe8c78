"""The enrollment HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from doseline.site_scope import site_scope_dependency
from enrollment.cohorts import endpoints as cohorts
from enrollment.db import schema
from enrollment.deviations import endpoints as deviations
from enrollment.dose_orders import endpoints as dose_orders
from enrollment.dosing import endpoints as dosing
from enrollment.escalation_state import endpoints as escalation_state
from enrollment.problems import PROBLEMS
from enrollment.scope import SCOPED_PARAMETERS
from enrollment.screening import endpoints as screening
from enrollment.settings import EnrollmentSettings
from enrollment.subjects import endpoints as subjects
from enrollment.trials import endpoints as trials
from enrollment.visits import endpoints as visits

SUMMARY = (
    "Trials, protocol, screening, cohorts, dosing, infusions, DLT windows, visits "
    "and signed escalation decisions."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz`, `/readyz` and `/problems` needs an `Authorization: Bearer <token>`
header. Errors are RFC 9457 `application/problem+json`; each problem's `type`
(`/problems/{{slug}}`) resolves here to what it means and what to do (`GET /problems` lists them).
"""


def create_app(settings: EnrollmentSettings | None = None) -> FastAPI:
    return build_app(
        settings or EnrollmentSettings(),
        schema=schema,
        title="Doseline enrollment",
        description=DESCRIPTION,
        problem_catalogue=PROBLEMS,
        routers=[
            diagnostics.router,
            trials.router,
            subjects.router,
            screening.router,
            cohorts.router,
            dosing.router,
            dose_orders.router,
            deviations.router,
            escalation_state.router,
            visits.router,
        ],
        router_dependencies=[site_scope_dependency(SCOPED_PARAMETERS)],
    )
