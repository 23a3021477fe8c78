"""The worker's periodic job that measures queued CT segmentations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service
from imaging.ct_analyses.storage import storage_from
from imaging.db import schema
from imaging.settings import ImagingSettings


def measure_queued(settings: ImagingSettings, session: Session, _now: datetime) -> None:
    """Run under the job's advisory lock; each analysis gets its own transactions, so that
    'processing' is visible while the file is measured."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    service.process_pending(
        schema.session_factory(engine, audit_keys=settings.audit_keyring),
        storage_from(settings),
        limits=ReadLimits(max_file_bytes=settings.max_upload_bytes, max_voxels=settings.max_voxels),
        lease=timedelta(seconds=settings.ct_analysis_lease_seconds),
    )
