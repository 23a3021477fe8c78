"""What the launcher, the CLI and the tests need to know to run the safety service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from doseline import diagnostics
from doseline.consumers import Handler
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.contracts.protocol import ProtocolActivated
from doseline.contracts.system import TracerPing
from doseline.manifest import PeriodicJob, ServiceManifest, in_one_transaction
from safety import PORT
from safety.adjudication import evaluation
from safety.adverse_events import service as adverse_events
from safety.app import SUMMARY, create_app
from safety.catalogue import service as catalogue
from safety.db import schema
from safety.dictionary import shipped
from safety.problems import PROBLEMS
from safety.protocols import tasks as protocol_tasks
from safety.sdtm import service as sdtm
from safety.sdtm.domains import DOMAINS as SDTM_DOMAINS
from safety.settings import SafetySettings
from safety.subjects import tasks as subject_tasks

DEFAULT_TRIAL = "HDMSC-RP-01"
BOOTSTRAP_ACTOR = "system <bootstrap>"


def handlers(_settings: SafetySettings) -> Mapping[str, Handler]:
    return {
        TracerPing.event_type: diagnostics.on_tracer,
        SubjectEnrolled.event_type: subject_tasks.on_subject_enrolled,
        InfusionAdministered.event_type: subject_tasks.on_infusion_administered,
        ProtocolActivated.event_type: protocol_tasks.on_protocol_activated,
    }


def _raise_overdue(session: Session, now: datetime) -> None:
    adverse_events.raise_overdue(session, now)


def periodic_jobs(_settings: SafetySettings) -> Sequence[PeriodicJob]:
    return (
        PeriodicJob(
            name="safety.sae_clock",
            every=timedelta(minutes=1),
            run=in_one_transaction(_raise_overdue),
        ),
    )


def bootstrap(_settings: SafetySettings, session: Session) -> list[str]:
    """CTCAE v5.0 from the packaged NCI workbook if not yet loaded. The DLT rules are not seeded:
    they arrive with enrollment's protocol event (enrollment.protocol.activated)."""
    lines: list[str] = []
    if catalogue.is_loaded(session, evaluation.CTCAE_VERSION):
        lines.append(f"CTCAE v{evaluation.CTCAE_VERSION} already loaded")
    else:
        outcome = catalogue.import_file(
            session,
            shipped.workbook(),
            version=shipped.VERSION,
            replace=False,
            actor=BOOTSTRAP_ACTOR,
        )
        lines.append(
            f"CTCAE v{outcome.version} {outcome.status} from NCI's workbook: "
            f"{outcome.term_count} terms in {outcome.soc_count} SOCs"
        )
    return lines


SERVICE = ServiceManifest(
    name="safety",
    port=PORT,
    schema=schema,
    settings_class=SafetySettings,
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
