"""The enrollment HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from enrollment.db import schema
from enrollment.settings import ENROLLMENTSettings

DESCRIPTION = """Trials, protocol, screening, cohorts, dosing, infusions, DLT windows, visits and signed escalation decisions.

Every endpoint but `/healthz` and `/readyz` needs an `Authorization: Bearer <token>` header.
Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: ENROLLMENTSettings | None = None) -> FastAPI:
    return build_app(
        settings or ENROLLMENTSettings(),
        schema=schema,
        title="Doseline enrollment",
        description=DESCRIPTION,
        routers=[diagnostics.router],
    )
