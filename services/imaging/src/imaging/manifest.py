"""What the launcher, the CLI and the tests need to know to run the imaging service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from doseline import diagnostics
from doseline.consumers import Handler, OwnTransactions
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.contracts.imaging import CtUploaded
from doseline.contracts.protocol import ProtocolActivated
from doseline.contracts.system import TracerPing
from doseline.manifest import PeriodicJob, ServiceManifest, in_one_transaction
from imaging import PORT
from imaging.app import SUMMARY, create_app
from imaging.ct_analyses import tasks as ct_tasks
from imaging.ct_analyses.storage import storage_from
from imaging.db import schema
from imaging.problems import PROBLEMS
from imaging.protocols import tasks as protocol_tasks
from imaging.schedule import service as schedule
from imaging.sdtm import service as sdtm
from imaging.sdtm.domains import DOMAINS as SDTM_DOMAINS
from imaging.settings import ImagingSettings
from imaging.subjects import tasks as subject_tasks

BOOTSTRAP_ACTOR = "system <bootstrap>"


def handlers(settings: ImagingSettings) -> Mapping[str, Handler]:
    return {
        TracerPing.event_type: diagnostics.on_tracer,
        SubjectEnrolled.event_type: subject_tasks.on_subject_enrolled,
        InfusionAdministered.event_type: subject_tasks.on_infusion_administered,
        ProtocolActivated.event_type: protocol_tasks.on_protocol_activated,
        # One storage per worker: a boto3 client is costly to build and safe to share.
        CtUploaded.event_type: OwnTransactions(
            partial(ct_tasks.measure_uploaded, settings, storage_from(settings)),
            prepare=ct_tasks.load_measuring_libraries,
        ),
    }


def _report_missed_visits(session: Session, now: datetime) -> None:
    subject_tasks.report_missed_visits(session, now)


def periodic_jobs(settings: ImagingSettings) -> Sequence[PeriodicJob]:
    return (
        # Only for work orders that were lost: every analysis is measured on its message.
        PeriodicJob(
            name="imaging.ct_analyses.lost_work_orders",
            every=timedelta(minutes=1),
            run=in_one_transaction(partial(ct_tasks.announce_lost, settings)),
        ),
        PeriodicJob(
            name="imaging.missed_visits",
            every=timedelta(hours=1),
            run=in_one_transaction(_report_missed_visits),
        ),
    )


def bootstrap(_settings: ImagingSettings, session: Session) -> list[str]:
    """HDMSC-RP-01's visit schedule from the protocol defaults, when not yet registered."""
    return [schedule.seed_default(session, actor=BOOTSTRAP_ACTOR)]


SERVICE = ServiceManifest(
    name="imaging",
    port=PORT,
    schema=schema,
    settings_class=ImagingSettings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    handlers=handlers,
    periodic_jobs=periodic_jobs,
    bootstrap=bootstrap,
    sdtm=sdtm.datasets,
    sdtm_domains=SDTM_DOMAINS,
    problems=PROBLEMS,
    summary=SUMMARY,
)
