"""The three long-running processes of a service: API, worker and outbox relay."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

import dramatiq
import structlog
import uvicorn
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from doseline.broker import make_broker
from doseline.consumers import ConsumerSet, bind_consumers
from doseline.db import make_engine
from doseline.logging import configure_logging
from doseline.manifest import PeriodicJob, ServiceManifest
from doseline.relay import OutboxRelay
from doseline.settings import ServiceSettings

log = structlog.get_logger(__name__)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("process.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_api(manifest: ServiceManifest, settings: ServiceSettings, *, host: str, port: int) -> None:
    app = manifest.create_app(settings)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def start_consumers(
    manifest: ServiceManifest,
    settings: ServiceSettings,
    *,
    broker: dramatiq.Broker,
    sessions: sessionmaker[Session],
) -> ConsumerSet:
    return bind_consumers(
        broker, service=manifest.name, handlers=manifest.handlers(settings), sessions=sessions
    )


class PeriodicRunner:
    """Runs a service's periodic jobs on a thread; an advisory lock keeps one runner per job."""

    def __init__(
        self,
        *,
        jobs: Sequence[PeriodicJob],
        sessions: sessionmaker[Session],
        schema_name: str,
    ) -> None:
        self._jobs = jobs
        self._sessions = sessions
        self._schema_name = schema_name
        self._next_run = dict.fromkeys((job.name for job in jobs), 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="periodic-jobs", daemon=True)

    def run_due(self, *, now: datetime | None = None) -> list[str]:
        """Run every job whose interval has passed; returns the names of the jobs run."""
        ran: list[str] = []
        for job in self._jobs:
            if time.monotonic() < self._next_run[job.name]:
                continue
            self._next_run[job.name] = time.monotonic() + job.every.total_seconds()
            try:
                with self._sessions() as session, session.begin():
                    locked = session.scalar(
                        select(
                            func.pg_try_advisory_xact_lock(
                                func.hashtext(f"{self._schema_name}.job.{job.name}")
                            )
                        )
                    )
                    if locked:
                        job.run(session, now or datetime.now(UTC))
                        ran.append(job.name)
            except Exception:
                log.exception("periodic_job.failed", job=job.name)
        return ran

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(1.0)

    def start(self) -> None:
        if self._jobs:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def run_worker(manifest: ServiceManifest, settings: ServiceSettings) -> None:
    """Consume the service's events and run its periodic jobs until SIGINT or SIGTERM."""
    configure_logging(service=manifest.name, level=settings.log_level, json=settings.log_json)
    stop = threading.Event()
    _stop_on_signals(stop)
    engine: Engine = make_engine(settings.database_url, application_name=f"{manifest.name}-worker")
    sessions = manifest.schema.session_factory(engine)
    broker = make_broker(settings.broker_url)
    dramatiq.set_broker(broker)
    consumers = start_consumers(manifest, settings, broker=broker, sessions=sessions)
    worker = dramatiq.Worker(
        broker, queues=consumers.queues or None, worker_threads=settings.worker_threads
    )
    periodic = PeriodicRunner(
        jobs=manifest.periodic_jobs(settings), sessions=sessions, schema_name=manifest.schema.name
    )
    if consumers.queues:
        worker.start()
    periodic.start()
    log.info(
        "worker.started",
        queues=sorted(consumers.queues),
        jobs=[j.name for j in manifest.periodic_jobs(settings)],
    )
    stop.wait()
    periodic.stop()
    if consumers.queues:
        worker.stop()
    broker.close()
    engine.dispose()
    log.info("worker.stopped")


def run_relay(manifest: ServiceManifest, settings: ServiceSettings) -> None:
    """Publish the service's outbox until SIGINT or SIGTERM."""
    configure_logging(service=manifest.name, level=settings.log_level, json=settings.log_json)
    engine = make_engine(
        settings.database_url, pool_size=2, application_name=f"{manifest.name}-relay"
    )
    broker = make_broker(settings.broker_url)
    relay = OutboxRelay(
        engine=engine,
        schema=manifest.schema,
        broker=broker,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    thread = threading.Thread(target=relay.run_forever, name="outbox-relay", daemon=True)
    thread.start()
    log.info("relay.started")
    stop.wait()
    relay.stop()
    thread.join(timeout=settings.relay_poll_seconds + 5)
    broker.close()
    engine.dispose()
    log.info("relay.stopped")
