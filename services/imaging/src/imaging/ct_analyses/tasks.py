"""The worker's side of CT analyses: the consumer that measures one analysis per work order, and
the slow sweeper that sends a work order again when one was lost."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from doseline.contracts.imaging import CtUploaded
from doseline.events import Envelope
from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service
from imaging.ct_analyses.storage import ObjectStorage
from imaging.settings import ImagingSettings


def measure_uploaded(
    settings: ImagingSettings,
    storage: ObjectStorage,
    sessions: sessionmaker[Session],
    envelope: Envelope,
) -> None:
    """Measure the analysis an `imaging.ct.uploaded` event names, in transactions of its own
    (see `service.measure_analysis`); a duplicate or late message changes nothing."""
    order = CtUploaded.from_envelope(envelope)
    service.measure_analysis(
        sessions,
        storage,
        uuid.UUID(order.analysis_id),
        limits=ReadLimits(max_file_bytes=settings.max_upload_bytes, max_voxels=settings.max_voxels),
        lease=timedelta(seconds=settings.ct_analysis_lease_seconds),
    )


def load_measuring_libraries() -> None:
    """At the worker's start: the file-reading libraries, before the first work order."""
    service.load_measuring_libraries()


def announce_lost(settings: ImagingSettings, session: Session, now: datetime) -> None:
    """The periodic sweep: rows and outbox only, in the job's short transaction."""
    service.announce_lost(session, now, lease=timedelta(seconds=settings.ct_analysis_lease_seconds))
