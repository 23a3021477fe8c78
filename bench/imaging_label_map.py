"""Imaging: a 512 × 512 × 300 NIfTI label map, loaded versus measured (pure and through the worker).

For the same label map (uint8 gzipped, and int16 uncompressed), times:
1. load only: `nibabel.load(path, mmap=False)` and `np.asanyarray(image.dataobj)` (the voxels
   as stored, read into memory);
2. load as floats: `image.get_fdata()`, what a naive script does;
3. measure: `imaging.ct.label_map.label_map_volumes` (header parse, streamed label counts,
   volumes), the function the worker runs;
4. the service path: `POST /v1/subjects/{id}/ct-analyses` (streamed to object storage, row
   queued) then the worker's `process_next` (claim, measure, record the CT assessment).
Best of 3 for 1-3 and the wall time of each step of 4; peak Python-heap memory (tracemalloc,
which numpy reports to) for 1-3.
5. the queue: 20 uploads of the uint8 label map queued, then measured by one and by two imaging
   worker processes (`python -m imaging worker`, as production runs them, with their default
   threads), side by side in one run: the wall time from the relay publishing the 20 work orders
   to the last analysis done, each count of workers started and ready before the clock starts.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres; a scratch database is created and dropped for each run) and, for 5, its RabbitMQ
(BENCH_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672/%2F; queues of a namespace of their
own, deleted afterwards).
Usage: uv run --frozen python bench/imaging_label_map.py [--queue]
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.broker import make_broker
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.db import make_engine, normalise_database_url
from doseline.relay import OutboxRelay
from doseline.routing import QUEUE_NAMESPACE_VARIABLE
from doseline.settings import Environment
from imaging.ct.file_limits import ReadLimits
from imaging.ct.label_map import LabelMapLabels, label_map_volumes
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.ct_analyses.storage import LocalObjectStorage
from imaging.manifest import SERVICE, bootstrap
from imaging.settings import ImagingSettings
from imaging.subjects import tasks

nib: Any = nibabel
SHAPE = (512, 512, 300)
SPACING_MM = (0.7, 0.7, 1.0)
LABELS = LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2}), other=frozenset({3}))
SUBJECT = "HDMSC-RP-01-001"
QUEUED = 20


def label_map(dtype: type[np.integer[Any]]) -> np.ndarray:
    """Two lung ellipsoids (1), a lesion inside the right one (2), a tube of airway (3)."""
    x, y, z = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    data = np.zeros(SHAPE, dtype=dtype)
    for centre_x in (160, 352):
        inside = ((x - centre_x) / 110) ** 2 + ((y - 256) / 160) ** 2 + ((z - 150) / 130) ** 2
        data[inside <= 1.0] = 1
    lesion = ((x - 330) / 40) ** 2 + ((y - 220) / 50) ** 2 + ((z - 120) / 35) ** 2
    data[lesion <= 1.0] = 2
    airway = ((x - 256) / 8) ** 2 + ((y - 256) / 8) ** 2
    data[np.broadcast_to(airway <= 1.0, SHAPE)] = 3
    return data


def write(data: np.ndarray, path: Path) -> Path:
    image = nib.Nifti1Image(data, np.diag([*SPACING_MM, 1.0]))
    image.header.set_xyzt_units("mm")
    image.to_filename(path)
    return path


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, int]:
    """Best wall time (s) of `runs`, and the peak traced memory (bytes) of the first run."""
    times = []
    peak = 0
    for run in range(runs):
        if run == 0:
            tracemalloc.start()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
        if run == 0:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return min(times), peak


def load_as_stored(path: Path) -> np.ndarray:
    # mmap=False: an uncompressed file is read into memory, not merely mapped.
    image = nib.load(path, mmap=False)
    return np.asanyarray(image.dataobj)


def load_as_float(path: Path) -> np.ndarray:
    result: np.ndarray = nib.load(path, mmap=False).get_fdata()
    return result


def headers(role: Role) -> dict[str, str]:
    token = mint_token(subject="bench", roles=[role], auth_time=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def prepared(url: str, storage_dir: Path) -> tuple[Any, Any, ImagingSettings]:
    """A migrated scratch database with the protocol's defaults and one enrolled, infused
    subject; its engine, audited session factory and settings."""
    migrations.upgrade(migrations=SERVICE.migrations, schema=SERVICE.schema, database_url=url)
    engine = make_engine(url, pool_size=4)
    sessions = SERVICE.schema.session_factory(engine, audit_keys=AuditKeys.development())
    settings = ImagingSettings(
        database_url=url,
        environment=Environment.TEST,
        log_json=False,
        log_level="WARNING",
        storage_dir=storage_dir,
    )
    with sessions() as session, session.begin():
        bootstrap(settings, session)
        enrolled = SubjectEnrolled(
            trial_id="HDMSC-RP-01",
            subject_id=SUBJECT,
            site_id="WCH",
            cohort_number=1,
            dose_level=1,
            enrolled_at=datetime(2026, 1, 1, tzinfo=UTC),
            protocol_version="1.0",
            site_time_zone="Asia/Shanghai",
        )
        tasks.on_subject_enrolled(
            session, enrolled.envelope(source="bench", subject=None, correlation_id="bench")
        )
        infusion = InfusionAdministered(
            trial_id="HDMSC-RP-01",
            subject_id=SUBJECT,
            site_id="WCH",
            infusion_number=1,
            infusions_planned=4,
            is_last=False,
            administered_at=datetime(2026, 1, 5, 1, tzinfo=UTC),
            dose_level=1,
            dose_cells="2.00E+7",
            first_infusion_on=date(2026, 1, 5),
            dlt_window_start=date(2026, 1, 5),
            dlt_window_end=date(2026, 2, 3),
        )
        tasks.on_infusion_administered(
            session, infusion.envelope(source="bench", subject=None, correlation_id="bench")
        )
    return engine, sessions, settings


def service_path(url: str, path: Path, storage_dir: Path) -> dict[str, float]:
    engine, sessions, settings = prepared(url, storage_dir)
    client = TestClient(SERVICE.create_app(settings))
    content = path.read_bytes()
    started = time.perf_counter()
    response = client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={
            "format": "nifti",
            "performed_at": "2026-01-02T09:00:00+08:00",
            "lung_labels": [1],
            "lesion_labels": [2],
            "other_labels": [3],
        },
        content=content,
        headers={**headers(Role.OUTCOMES_ASSESSOR), "Content-Type": "application/octet-stream"},
    )
    upload_seconds = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(response.text)
    started = time.perf_counter()
    ct_service.process_next(
        sessions,
        LocalObjectStorage(storage_dir),
        limits=ReadLimits(),
        lease=timedelta(minutes=10),
    )
    worker_seconds = time.perf_counter() - started
    result = client.get(
        f"/v1/ct-analyses/{response.json()['id']}", headers=headers(Role.MONITOR)
    ).json()
    if result["status"] != "done":
        raise RuntimeError(result["error"])
    client.app.state.engine.dispose()  # type: ignore[attr-defined]
    engine.dispose()
    metrics = result["assessment"]["metrics"]
    return {
        "upload_s": upload_seconds,
        "worker_s": worker_seconds,
        "measure_in_worker_s": float(result["processing_seconds"]),
        "lung_ml": metrics["lung_ml"],
        "lesion_ml": metrics["lesion_ml"],
    }


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    yield content


def queue_uploads(sessions: Any, storage: LocalObjectStorage, path: Path, count: int) -> None:
    """`count` uploads of the label map, each a queued analysis with its work order."""
    content = path.read_bytes()
    parameters = ct_service.validated_parameters(
        file_format="nifti",
        lung_labels=[1],
        lesion_labels=[2],
        other_labels=[3],
        lesion_outside_lung="count_as_lung",
    )
    for _ in range(count):
        incoming = asyncio.run(storage.receive(_chunks(content), max_bytes=len(content)))
        ct_service.create(
            sessions,
            storage,
            incoming,
            ct_service.UploadRequest(
                subject_id=SUBJECT,
                performed_at=datetime(2026, 1, 2, 1, tzinfo=UTC),
                file_format="nifti",
                parameters=parameters,
            ),
            actor="bench",
            principal="bench",
            idempotency_key=None,
            path=f"/v1/subjects/{SUBJECT}/ct-analyses",
        )


def start_workers(
    count: int, environment: dict[str, str], logs: Path
) -> list[subprocess.Popen[bytes]]:
    """`count` imaging worker processes; returns once each logged that it started."""
    workers = []
    for index in range(count):
        log_path = logs / f"worker-{index}.log"
        with log_path.open("wb") as log_file:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "imaging", "worker"],
                    env=environment,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 300
    for index, worker in enumerate(workers):
        log_path = logs / f"worker-{index}.log"
        while b"worker.started" not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text(errors="replace"))
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def measured(sessions: Any) -> tuple[int, int]:
    with sessions() as session:
        rows = dict(
            session.execute(
                select(CtAnalysisRow.status, func.count()).group_by(CtAnalysisRow.status)
            ).all()
        )
    return rows.get("done", 0), rows.get("failed", 0)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU time (user + system, every thread) the processes used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def queue_seconds(
    url: str, broker_url: str, path: Path, root: Path, *, workers: int, threads: int
) -> tuple[float, float]:
    """Seconds for `workers` worker processes of `threads` threads to measure QUEUED analyses
    whose work orders the relay publishes when the clock starts, and the CPU seconds they used."""
    storage_dir = root / f"objects-{workers}-{threads}"
    engine, sessions, _settings = prepared(url, storage_dir)
    queue_uploads(sessions, LocalObjectStorage(storage_dir), path, QUEUED)
    environment = {
        **os.environ,
        "IMAGING_DATABASE_URL": url,
        "IMAGING_BROKER_URL": broker_url,
        "IMAGING_STORAGE_DIR": str(storage_dir),
        "IMAGING_ENVIRONMENT": "test",
        "IMAGING_LOG_LEVEL": "INFO",
        "IMAGING_WORKER_THREADS": str(threads),
    }
    processes = start_workers(workers, environment, root)
    broker = make_broker(broker_url)
    try:
        relay = OutboxRelay(engine=engine, schema=SERVICE.schema, broker=broker)
        cpu_before = cpu_seconds(processes)
        started = time.perf_counter()
        if relay.drain() < QUEUED:
            raise RuntimeError("the relay did not publish every work order")
        while sum(measured(sessions)) < QUEUED:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(processes) - cpu_before
        done, failed = measured(sessions)
        if failed:
            raise RuntimeError(f"{failed} analyses failed")
        print(
            f"  {workers} worker process(es) x {threads} thread(s): {done} label maps in "
            f"{seconds:.2f} s, {cpu:.1f} CPU s (machine load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs)"
        )
    finally:
        stop_workers(processes)
        _delete_queues(broker)
        broker.close()
        engine.dispose()
    return seconds, cpu


def sequential_seconds(url: str, path: Path, root: Path) -> float:
    """The former periodic job's throughput: one thread measuring the queue one by one,
    whatever the number of workers (it ran under one lock for the whole cluster)."""
    storage_dir = root / "objects-sequential"
    engine, sessions, _settings = prepared(url, storage_dir)
    storage = LocalObjectStorage(storage_dir)
    queue_uploads(sessions, storage, path, QUEUED)
    started = time.perf_counter()
    count = ct_service.process_pending(
        sessions, storage, limits=ReadLimits(), lease=timedelta(minutes=10), max_analyses=QUEUED
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    print(f"  one thread, one after another (the former job): {count} in {seconds:.2f} s")
    return seconds


def _delete_queues(broker: Any) -> None:
    """This run's queues exist for it alone: leave the shared RabbitMQ as it was."""
    from dramatiq.common import dq_name, xq_name  # noqa: PLC0415

    namespace = os.environ[QUEUE_NAMESPACE_VARIABLE]
    for lane in ("events", "ct"):
        queue = f"{namespace}imaging.{lane}"
        for name in (queue, dq_name(queue), xq_name(queue)):
            broker.channel.queue_delete(name)


def scratch_database(admin: Any, admin_url: str) -> tuple[str, str]:
    database = f"imaging_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    return database, url


def drop_database(admin: Any, database: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def queue_figure(admin: Any, admin_url: str, path: Path, root: Path) -> None:
    broker_url = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    os.environ[QUEUE_NAMESPACE_VARIABLE] = f"bench-{uuid.uuid4().hex[:8]}."
    print(f"== queue: {QUEUED} uploads of the uint8 label map, measured by imaging workers")
    database, url = scratch_database(admin, admin_url)
    try:
        baseline = sequential_seconds(url, path, root)
    finally:
        drop_database(admin, database)
    # The production default (4 threads a process), and one thread a process.
    for threads in (4, 1):
        seconds: dict[int, float] = {}
        for workers in (1, 2):
            database, url = scratch_database(admin, admin_url)
            try:
                seconds[workers], _cpu = queue_seconds(
                    url, broker_url, path, root, workers=workers, threads=threads
                )
            finally:
                drop_database(admin, database)
        print(
            f"  {threads} thread(s) a worker: two workers {seconds[1] / seconds[2]:.2f} times "
            f"the throughput of one; one worker {baseline / seconds[1]:.2f} times the former job"
        )


def main() -> None:
    admin_url = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as folder:
        root = Path(folder)
        files = {
            "uint8 .nii.gz": write(label_map(np.uint8), root / "labels_u8.nii.gz"),
            "int16 .nii": write(label_map(np.int16), root / "labels_i16.nii"),
        }
        # `--queue` times the queue alone (5), without the single-file figures (1-4).
        for name, path in files.items() if "--queue" not in sys.argv else ():
            print(f"== {name}: {SHAPE}, {path.stat().st_size / 1e6:.1f} MB on disk")
            load, load_peak = best_of(3, partial(load_as_stored, path))
            floats, float_peak = best_of(3, partial(load_as_float, path))
            measure, measure_peak = best_of(3, partial(label_map_volumes, path, LABELS))
            volumes = label_map_volumes(path, LABELS)
            print(f"load as stored    {load * 1000:8.0f} ms  peak {load_peak / 1e6:8.1f} MB")
            print(f"load as float64   {floats * 1000:8.0f} ms  peak {float_peak / 1e6:8.1f} MB")
            print(f"measure (pure)    {measure * 1000:8.0f} ms  peak {measure_peak / 1e6:8.1f} MB")
            print(f"  lung {volumes.lung_ml:.1f} mL, lesion {volumes.lesion_ml:.1f} mL")
            database, url = scratch_database(admin, admin_url)
            try:
                timings = service_path(url, path, root / f"objects-{database}")
            finally:
                drop_database(admin, database)
            print(
                f"service: upload {timings['upload_s'] * 1000:.0f} ms, worker "
                f"{timings['worker_s'] * 1000:.0f} ms (measuring "
                f"{timings['measure_in_worker_s'] * 1000:.0f} ms), lung "
                f"{timings['lung_ml']:.1f} mL, lesion {timings['lesion_ml']:.1f} mL"
            )
        queue_figure(admin, admin_url, files["uint8 .nii.gz"], root)
    admin.dispose()


if __name__ == "__main__":
    main()
