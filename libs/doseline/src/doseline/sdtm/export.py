"""Assembling the study package: every installed service's SDTM domains at one data cut.

The kit never imports a service: it asks `installed_services()` for each manifest with an
`sdtm` builder, opens a session on that service's own schema, and merges what the builders
return. The one manifest with `sdtm_study` (enrollment) names the study; the package is then
written whole (doseline.sdtm.package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from doseline.db import make_engine
from doseline.manifest import ServiceManifest
from doseline.sdtm import DataCut, Dataset, Study
from doseline.sdtm.package import write_package

SessionOpener = Callable[[ServiceManifest], AbstractContextManager[Session]]


@contextmanager
def read_only_session(manifest: ServiceManifest) -> Iterator[Session]:
    """A session on the service's schema from its settings (its DATABASE_URL); nothing it does
    is committed."""
    settings = manifest.settings_class()
    engine = make_engine(settings.database_url, pool_size=1, application_name="doseline-sdtm")
    try:
        sessions = manifest.schema.session_factory(engine, audit_keys=settings.audit_keyring)
        with sessions() as session, session.begin():
            try:
                yield session
            finally:
                session.rollback()
    finally:
        engine.dispose()


def study_datasets(
    services: Mapping[str, ServiceManifest], cut: DataCut, open_session: SessionOpener
) -> tuple[Study, list[Dataset]]:
    """The study and every service's datasets at `cut`. LookupError: no service knows the
    trial; ValueError: no installed service declares the study, or two do."""
    declaring = [manifest for manifest in services.values() if manifest.sdtm_study is not None]
    if len(declaring) != 1:
        names = sorted(manifest.name for manifest in declaring)
        raise ValueError(f"exactly one installed service must declare the study; found {names}")
    study: Study | None = None
    datasets: list[Dataset] = []
    for manifest in services.values():
        if manifest.sdtm is None and manifest.sdtm_study is None:
            continue
        with open_session(manifest) as session:
            if manifest.sdtm_study is not None:
                study = manifest.sdtm_study(session, cut)
            if manifest.sdtm is not None:
                datasets.extend(manifest.sdtm(session, cut))
    assert study is not None  # the one declaring service ran
    return study, datasets


def export_package(
    services: Mapping[str, ServiceManifest],
    cut: DataCut,
    out: Path,
    open_session: SessionOpener = read_only_session,
) -> Path:
    """Write the study package of `cut` into `out`; returns its manifest.json."""
    study, datasets = study_datasets(services, cut, open_session)
    return write_package(datasets, study, cut, out)
