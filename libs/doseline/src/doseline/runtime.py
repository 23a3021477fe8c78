"""The three long-running processes of a service: API, worker and outbox relay."""

from __future__ import annotations

import gc
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

from doseline.audit_checkpoints import checkpoint_job
from doseline.broker import RedisHeartbeat, make_broker
from doseline.consumers import ConsumerSet, bind_consumers
from doseline.db import make_engine
from doseline.logging import configure_logging
from doseline.manifest import PeriodicJob, ServiceManifest, SettingsT
from doseline.relay import OutboxRelay

log = structlog.get_logger(__name__)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("process.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# Python collects its youngest objects every 700 allocations by default. A request that reads a
# large body (a lab Bundle: 30,000 values) triggers dozens of collections, promotes what it still
# holds to the oldest generation and, every few such requests, a full collection over everything
# the process holds: 150-500 ms in the middle of a request.
YOUNG_COLLECTION_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once the application is built: what is alive now (modules, models, schemas, routes) lives
    as long as the process, so it is frozen out of every later collection (gc.freeze), and the
    youngest generation is collected less often (YOUNG_COLLECTION_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def run_api(
    manifest: ServiceManifest[SettingsT], settings: SettingsT, *, host: str, port: int
) -> None:
    app = manifest.create_app(settings)
    settle_heap()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def start_consumers(
    manifest: ServiceManifest[SettingsT],
    settings: SettingsT,
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
                        # The lock's transaction stays open while the job works in its own.
                        job.run(self._sessions, now or datetime.now(UTC))
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


class BackgroundWorker:
    """A service's event consumers and periodic jobs, started and stopped as one piece."""

    def __init__(self, manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
        self._engine: Engine = make_engine(
            settings.database_url, application_name=f"{manifest.name}-worker"
        )
        sessions = manifest.schema.session_factory(self._engine, audit_keys=settings.audit_keyring)
        self._broker = make_broker(settings.broker_url)
        dramatiq.set_broker(self._broker)
        consumers = start_consumers(manifest, settings, broker=self._broker, sessions=sessions)
        self._queues = consumers.queues
        self._consumers = consumers
        self._heartbeat = RedisHeartbeat(self._broker)
        self._worker = dramatiq.Worker(
            self._broker,
            queues=consumers.queues or None,
            worker_threads=settings.worker_threads,
            # How long an idle thread waits for a message before it looks whether to stop.
            worker_timeout=500,
        )
        # No more messages of a queue in hand than threads to handle them (dramatiq's default is
        # twice as many): a CT work order this worker could not start yet stays in `imaging.ct`
        # for an idle worker, and counts in the queue depth imaging workers are scaled on.
        self._worker.queue_prefetch = settings.worker_threads
        # Every service checkpoints its audit trail; the job is the kit's, not the manifest's.
        jobs = [*manifest.periodic_jobs(settings), checkpoint_job(settings)]
        self._job_names = [job.name for job in jobs]
        self._periodic = PeriodicRunner(
            jobs=jobs, sessions=sessions, schema_name=manifest.schema.name
        )

    def prepare(self) -> None:
        """What the consumers need loaded before their first message (a worker process runs it
        before `start`; `make run`'s all-in-one leaves it to the first message, so that the
        API is up sooner)."""
        self._consumers.prepare()

    def start(self) -> None:
        if self._queues:
            self._worker.start()
            self._heartbeat.start()
        self._periodic.start()
        log.info("worker.started", queues=sorted(self._queues), jobs=self._job_names)

    def stop(self) -> None:
        self._periodic.stop()
        if self._queues:
            # Messages being handled finish; the rest stay queued for the next start.
            self._worker.stop(timeout=3000)
            self._heartbeat.stop()
        self._broker.close()
        self._engine.dispose()
        log.info("worker.stopped")


class BackgroundRelay:
    """A service's outbox relay on a thread."""

    def __init__(self, manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
        self._engine = make_engine(
            settings.database_url, pool_size=2, application_name=f"{manifest.name}-relay"
        )
        self._broker = make_broker(settings.broker_url)
        self._relay = OutboxRelay(
            engine=self._engine,
            schema=manifest.schema,
            broker=self._broker,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
        )
        self._poll_seconds = settings.relay_poll_seconds
        self._thread = threading.Thread(
            target=self._relay.run_forever, name="outbox-relay", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("relay.started")

    def stop(self) -> None:
        self._relay.stop()
        self._thread.join(timeout=self._poll_seconds + 5)
        self._broker.close()
        self._engine.dispose()
        log.info("relay.stopped")


def run_worker(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    """Consume the service's events and run its periodic jobs until SIGINT or SIGTERM."""
    configure_logging(service=manifest.name, level=settings.log_level, json=settings.log_json)
    stop = threading.Event()
    _stop_on_signals(stop)
    worker = BackgroundWorker(manifest, settings)
    worker.prepare()
    worker.start()
    stop.wait()
    worker.stop()


def run_relay(manifest: ServiceManifest[SettingsT], settings: SettingsT) -> None:
    """Publish the service's outbox until SIGINT or SIGTERM."""
    configure_logging(service=manifest.name, level=settings.log_level, json=settings.log_json)
    stop = threading.Event()
    _stop_on_signals(stop)
    relay = BackgroundRelay(manifest, settings)
    relay.start()
    stop.wait()
    relay.stop()


def run_all_in_one(
    manifest: ServiceManifest[SettingsT], settings: SettingsT, *, host: str, port: int
) -> None:
    """Development mode (`make run`): the API, the worker and the relay in one process.

    One interpreter per service instead of three starts in a third of the time and memory.
    SIGINT or SIGTERM stops the API first (no new requests), then the relay and the worker.
    Production keeps them apart (`api`, `worker`, `relay`), each scaled on its own.
    """
    configure_logging(service=manifest.name, level=settings.log_level, json=settings.log_json)
    stop = threading.Event()
    # uvicorn restores these handlers and re-raises the signal it caught once it has shut down,
    # so the signal ends here, in `stop`, and the worker and relay stop in order below.
    _stop_on_signals(stop)
    worker = BackgroundWorker(manifest, settings)
    relay = BackgroundRelay(manifest, settings)
    worker.start()
    relay.start()
    try:
        app = manifest.create_app(settings)
        settle_heap()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=3,
            )
        )
        server.run()
    finally:
        # The relay and the worker wind down side by side: each waits on its own I/O.
        stopping = [
            threading.Thread(target=part.stop, name=f"stop-{type(part).__name__}")
            for part in (relay, worker)
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
