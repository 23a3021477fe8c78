"""What the launcher, the CLI and the tests need to know to run the safety service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from doseline import diagnostics
from doseline.consumers import Handler
from doseline.contracts.system import TracerPing
from doseline.manifest import ServiceManifest
from doseline.settings import ServiceSettings
from safety.app import SUMMARY, create_app
from safety.db import schema
from safety.settings import SafetySettings


def handlers(_settings: ServiceSettings) -> Mapping[str, Handler]:
    return {TracerPing.event_type: diagnostics.on_tracer}


SERVICE = ServiceManifest(
    name="safety",
    port=8002,
    schema=schema,
    settings_class=SafetySettings,
    create_app=create_app,  # type: ignore[arg-type]
    migrations=Path(__file__).parent / "migrations",
    handlers=handlers,
    summary=SUMMARY,
)
