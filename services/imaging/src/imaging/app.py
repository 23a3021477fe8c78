"""The imaging HTTP API: `create_app(settings)`."""

from __future__ import annotations

from fastapi import FastAPI

from doseline import diagnostics
from doseline.http import build_app
from imaging.db import schema
from imaging.settings import ImagingSettings

SUMMARY = (
    "Chest CT volumetry, pulmonary function, 6-minute walk, blood gas, SGRQ "
    "and endpoints over time."
)
DESCRIPTION = f"""{SUMMARY}

Every endpoint but `/healthz` and `/readyz` needs an `Authorization: Bearer <token>` header.
Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: ImagingSettings | None = None) -> FastAPI:
    return build_app(
        settings or ImagingSettings(),
        schema=schema,
        title="Doseline imaging and outcomes",
        description=DESCRIPTION,
        routers=[diagnostics.router],
    )
