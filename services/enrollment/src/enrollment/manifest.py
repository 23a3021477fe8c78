"""What the launcher, the CLI and the tests need to know to run the enrollment service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from doseline import diagnostics
from doseline.consumers import Handler
from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.contracts.system import TracerPing
from doseline.manifest import PeriodicJob, ServiceManifest
from enrollment import PORT
from enrollment.app import SUMMARY, create_app
from enrollment.cohorts.tasks import EXPIRE_RESERVATIONS
from enrollment.db import schema
from enrollment.deviations.tasks import RECORD_MISSED_INFUSIONS
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.escalation_state.tasks import on_dlt_adjudicated
from enrollment.problems import PROBLEMS
from enrollment.sdtm import service as sdtm
from enrollment.sdtm.domains import DOMAINS as SDTM_DOMAINS
from enrollment.settings import EnrollmentSettings
from enrollment.workflows.trials import bootstrap as bootstrap_trials


def handlers(_settings: EnrollmentSettings) -> Mapping[str, Handler]:
    return {
        TracerPing.event_type: diagnostics.on_tracer,
        DltSuspected.event_type: on_dlt_adjudicated,
        DltConfirmed.event_type: on_dlt_adjudicated,
        DltRuledOut.event_type: on_dlt_adjudicated,
    }


def periodic_jobs(_settings: EnrollmentSettings) -> Sequence[PeriodicJob]:
    return (CLOSE_DLT_WINDOWS, EXPIRE_RESERVATIONS, RECORD_MISSED_INFUSIONS)


def bootstrap(_settings: EnrollmentSettings, session: Session) -> list[str]:
    """`make run`: HDMSC-RP-01 from the shipped protocol, if absent (idempotent)."""
    return bootstrap_trials(session)


SERVICE = ServiceManifest(
    name="enrollment",
    port=PORT,
    schema=schema,
    settings_class=EnrollmentSettings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    handlers=handlers,
    periodic_jobs=periodic_jobs,
    bootstrap=bootstrap,
    sdtm=sdtm.datasets,
    sdtm_study=sdtm.study,
    sdtm_domains=SDTM_DOMAINS,
    problems=PROBLEMS,
    summary=SUMMARY,
)
