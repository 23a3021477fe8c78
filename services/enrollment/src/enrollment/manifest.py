"""What the launcher, the CLI and the tests need to know to run the enrollment service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from doseline import diagnostics
from doseline.consumers import Handler
from doseline.contracts.system import TracerPing
from doseline.manifest import ServiceManifest
from doseline.settings import ServiceSettings
from enrollment.app import SUMMARY, create_app
from enrollment.db import schema
from enrollment.settings import EnrollmentSettings


def handlers(_settings: ServiceSettings) -> Mapping[str, Handler]:
    return {TracerPing.event_type: diagnostics.on_tracer}


SERVICE = ServiceManifest(
    name="enrollment",
    port=8001,
    schema=schema,
    settings_class=EnrollmentSettings,
    create_app=create_app,  # type: ignore[arg-type]
    migrations=Path(__file__).parent / "migrations",
    handlers=handlers,
    summary=SUMMARY,
)
