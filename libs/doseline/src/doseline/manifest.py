"""What a service declares about itself, so the launcher, the CLI and the tests can run it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session

from doseline.consumers import Handler
from doseline.instance import env_prefix
from doseline.schema import ServiceSchema
from doseline.settings import ServiceSettings

ENTRY_POINT_GROUP = "doseline.services"


@dataclass(frozen=True)
class PeriodicJob:
    """A sweep the worker runs every `every`; one worker at a time runs it (advisory lock).

    Jobs must be idempotent: the same sweep twice changes nothing the first did not.
    """

    name: str
    every: timedelta
    run: Callable[[Session, datetime], None]


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    port: int
    schema: ServiceSchema
    settings_class: type[ServiceSettings]
    create_app: Callable[[ServiceSettings], FastAPI]
    migrations: Path
    handlers: Callable[[ServiceSettings], Mapping[str, Handler]]
    periodic_jobs: Callable[[ServiceSettings], Sequence[PeriodicJob]] = lambda _settings: ()
    bootstrap: Callable[[ServiceSettings, Session], list[str]] | None = None
    summary: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def env_prefix(self) -> str:
        return env_prefix(self.name)


def installed_services() -> dict[str, ServiceManifest]:
    """Every service installed in this environment, by name, in port order."""
    found = [_loaded(entry) for entry in entry_points(group=ENTRY_POINT_GROUP)]
    return {manifest.name: manifest for manifest in sorted(found, key=lambda m: m.port)}


def installed_service(name: str) -> ServiceManifest:
    """One installed service, importing that service alone."""
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _loaded(entry)
    raise LookupError(f"no service named {name} is installed ({ENTRY_POINT_GROUP} entry points)")


def _loaded(entry: EntryPoint) -> ServiceManifest:
    manifest = entry.load()
    if not isinstance(manifest, ServiceManifest):
        raise TypeError(f"entry point {entry.name} is not a ServiceManifest")
    return manifest
