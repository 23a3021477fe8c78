"""The safety HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from doseline.site_scope import site_scope_dependency
from safety.adjudication import endpoints as adjudication
from safety.adverse_events import endpoints as adverse_events
from safety.catalogue import endpoints as catalogue
from safety.db import schema
from safety.ehr import endpoints as ehr
from safety.grading_assistance import endpoints as grading
from safety.icsr import endpoints as icsr
from safety.problems import PROBLEMS
from safety.protocols import endpoints as protocols
from safety.reference_ranges import endpoints as reference_ranges
from safety.settings import SafetySettings
from safety.subjects import endpoints as subjects
from safety.subjects.scope import SCOPED_PARAMETERS

SUMMARY = (
    "CTCAE v5.0 dictionary, adverse events and grading, DLT rules (from the protocol) and "
    "adjudication, SAE clocks."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz`, `/readyz` and `/problems` needs an `Authorization: Bearer <token>`
header. Errors are RFC 9457 `application/problem+json`; each problem's `type`
(`/problems/{{slug}}`) resolves here to what it means and what to do (`GET /problems` lists them).
"""


def create_app(settings: SafetySettings | None = None) -> FastAPI:
    return build_app(
        settings or SafetySettings(),
        schema=schema,
        title="Doseline safety",
        description=DESCRIPTION,
        problem_catalogue=PROBLEMS,
        routers=[
            diagnostics.router,
            catalogue.router,
            adverse_events.router,
            icsr.router,
            adjudication.router,
            ehr.router,
            grading.router,
            protocols.router,
            reference_ranges.router,
            subjects.router,
        ],
        router_dependencies=[site_scope_dependency(SCOPED_PARAMETERS)],
    )
