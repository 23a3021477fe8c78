"""The enrollment HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from enrollment.db import schema
from enrollment.settings import EnrollmentSettings

SUMMARY = (
    "Trials, protocol, screening, cohorts, dosing, infusions, DLT windows, visits "
    "and signed escalation decisions."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz` and `/readyz` needs an `Authorization: Bearer <token>` header.
Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: EnrollmentSettings | None = None) -> FastAPI:
    return build_app(
        settings or EnrollmentSettings(),
        schema=schema,
        title="Doseline enrollment",
        description=DESCRIPTION,
        routers=[diagnostics.router],
    )
