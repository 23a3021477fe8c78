"""What a service declares about itself, so the launcher, the CLI and the tests can run it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Generic

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from typing_extensions import TypeVar

from doseline.consumers import Handler
from doseline.instance import env_prefix
from doseline.problems import KIT, ProblemCatalogue
from doseline.schema import ServiceSchema
from doseline.sdtm import DataCut, Dataset, Domain, Study
from doseline.settings import ServiceSettings

ENTRY_POINT_GROUP = "doseline.services"

# A manifest is typed by its service's own settings class, so `create_app`, `handlers`, ...
# take `EnrollmentSettings` (say) without a cast; the launcher, which only sees a manifest
# loaded from an entry point, writes plain `ServiceManifest`.
SettingsT = TypeVar("SettingsT", bound=ServiceSettings, default=ServiceSettings)

PeriodicJobRun = Callable[[sessionmaker[Session], datetime], None]


@dataclass(frozen=True)
class PeriodicJob:
    """A sweep the worker runs every `every`; one worker at a time runs it (advisory lock).

    `run(sessions, now)` opens the transactions it needs from `sessions` (the service's
    session factory): one for a sweep that must commit as a whole, one per item for a sweep
    whose progress must be visible while it runs. Jobs must be idempotent: the same sweep twice
    changes nothing the first did not.
    """

    name: str
    every: timedelta
    run: PeriodicJobRun


def in_one_transaction(sweep: Callable[[Session, datetime], None]) -> PeriodicJobRun:
    """A job's `run` doing all of `sweep` in one transaction: committed whole, or not at all."""

    def run(sessions: sessionmaker[Session], now: datetime) -> None:
        with sessions.begin() as session:
            sweep(session, now)

    return run


def _no_periodic_jobs(_settings: ServiceSettings) -> Sequence[PeriodicJob]:
    return ()


@dataclass(frozen=True)
class ServiceManifest(Generic[SettingsT]):
    name: str
    port: int
    schema: ServiceSchema
    settings_class: type[SettingsT]
    create_app: Callable[[SettingsT], FastAPI]
    migrations: Path
    handlers: Callable[[SettingsT], Mapping[str, Handler]]
    periodic_jobs: Callable[[SettingsT], Sequence[PeriodicJob]] = _no_periodic_jobs
    bootstrap: Callable[[SettingsT, Session], list[str]] | None = None
    # The SDTM domains of the service's own data at a data cut (doseline.sdtm), if it has any;
    # a trial it holds nothing of gives its domains without records (only `sdtm_study` refuses
    # an unknown trial).
    sdtm: Callable[[Session, DataCut], Sequence[Dataset]] | None = None
    # The study the SDTM package describes (STUDYID, title, protocol version at the cut): declared
    # by the one service that owns the trial's protocol (enrollment). LookupError: no such trial.
    sdtm_study: Callable[[Session, DataCut], Study] | None = None
    # The domains `sdtm` builds, without a database: docs/sdtm.md's mapping table is rendered
    # from them (and a test keeps the two equal).
    sdtm_domains: Sequence[Domain] = ()
    # Every problem type the service answers: the kit's and its own (its `problems.py`).
    problems: ProblemCatalogue = KIT
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
