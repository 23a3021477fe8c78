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
5. the queue: 20 uploads of the uint8 label map queued (spread over 20 subjects, or
   `--subjects N`), then measured by one and by two imaging worker processes (`python -m
   imaging worker`, as production runs them, each in a session of its own), with 4 and with 1
   thread each (`--threads 4,1`), in `--rounds 3` rounds that alternate which count goes first:
   the wall time from the relay publishing the 20 work orders to the last analysis done, each
   count of workers started and ready (measuring libraries loaded) before the clock starts.
   Beside it the CPU time of the workers, of the bench and of the whole machine over that wall
   time, the CPUs the workers wanted (on a CPU or runnable, waiting for one: what they would use
   on idle CPUs), and the load average; a table at the end.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres; a scratch database is created and dropped for each run) and, for 5, its RabbitMQ
(BENCH_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672/%2F; queues of a namespace of their
own, deleted afterwards).
Usage: uv run --frozen python bench/imaging_label_map.py [--queue] [--subjects N] [--rounds N]
       [--threads 4,1] [--no-baseline]
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
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
from doseline.db import make_engine, normalise_database_url
from doseline.relay import OutboxRelay
from doseline.routing import QUEUE_NAMESPACE_VARIABLE
from doseline.settings import Environment
from doseline.testing import facts
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


def prepared(
    url: str, storage_dir: Path, subjects: tuple[str, ...] = (SUBJECT,)
) -> tuple[Any, Any, ImagingSettings]:
    """A migrated scratch database with the protocol's defaults and `subjects` enrolled and
    infused; its engine, audited session factory and settings."""
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
    for subject_id in subjects:
        with sessions() as session, session.begin():
            _enrol_and_infuse(session, subject_id)
    return engine, sessions, settings


def _enrol_and_infuse(session: Any, subject_id: str) -> None:
    for fact, handler in (
        (
            facts.enrolled(subject_id, enrolled_at=datetime(2026, 1, 1, tzinfo=UTC)),
            tasks.on_subject_enrolled,
        ),
        (
            facts.infused(
                subject_id,
                day1=date(2026, 1, 5),
                administered_at=datetime(2026, 1, 5, 1, tzinfo=UTC),
            ),
            tasks.on_infusion_administered,
        ),
    ):
        handler(session, fact.envelope(source="bench", subject=None, correlation_id="bench"))


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


def queue_subjects(count: int) -> tuple[str, ...]:
    """The subjects the queue's uploads are spread over (one: every upload of the same one)."""
    return tuple(f"HDMSC-RP-01-{number:03d}" for number in range(1, count + 1))


def queue_uploads(
    sessions: Any, storage: LocalObjectStorage, path: Path, count: int, subjects: tuple[str, ...]
) -> None:
    """`count` uploads of the label map, each a queued analysis with its work order, spread
    over `subjects` in turn."""
    content = path.read_bytes()
    parameters = ct_service.validated_parameters(
        file_format="nifti",
        lung_labels=[1],
        lesion_labels=[2],
        other_labels=[3],
        lesion_outside_lung="count_as_lung",
    )
    for index in range(count):
        subject_id = subjects[index % len(subjects)]
        incoming = asyncio.run(storage.receive(_chunks(content), max_bytes=len(content)))
        ct_service.create(
            sessions,
            storage,
            incoming,
            ct_service.UploadRequest(
                subject_id=subject_id,
                performed_at=datetime(2026, 1, 2, 1, tzinfo=UTC),
                file_format="nifti",
                parameters=parameters,
            ),
            actor="bench",
            principal="bench",
            idempotency_key=None,
            path=f"/v1/subjects/{subject_id}/ct-analyses",
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
                    # A session of its own, as a worker started on its own is: Linux shares the
                    # CPUs between sessions (autogroups) before threads, so workers started in
                    # the bench's session would share one session's share of a busy machine.
                    start_new_session=True,
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


def measured(sessions: Any) -> tuple[int, int, float]:
    """Analyses done and failed, and the seconds the workers spent measuring them."""
    with sessions() as session:
        rows = {
            status: (count, seconds)
            for status, count, seconds in session.execute(
                select(
                    CtAnalysisRow.status,
                    func.count(),
                    func.coalesce(func.sum(CtAnalysisRow.processing_seconds), 0.0),
                ).group_by(CtAnalysisRow.status)
            ).all()
        }
    done, measuring = rows.get("done", (0, 0.0))
    failed, failing = rows.get("failed", (0, 0.0))
    return done, failed, float(measuring) + float(failing)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU time (user + system, every thread) the processes used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wanted_cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """Time the processes' threads ran on a CPU or waited, runnable, for one (Linux schedstat):
    what they would have run on idle CPUs. A thread blocked on a lock, the GIL or I/O adds
    nothing, so this over the wall time is the CPUs the work could use, whatever else runs."""
    total = 0
    for process in processes:
        for task in Path(f"/proc/{process.pid}/task").iterdir():
            try:
                on_cpu, waiting, _slices = (task / "schedstat").read_text().split()
            except FileNotFoundError:  # a thread that ended meanwhile
                continue
            total += int(on_cpu) + int(waiting)
    return total / 1e9


def own_cpu_seconds() -> float:
    """CPU time this process (the bench: relay, polling, its database) used so far."""
    times = os.times()
    return times.user + times.system


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far, every CPU (Linux /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class QueueRun:
    """One count of workers measuring the queue: wall time, the CPU time of the workers, of the
    bench and of the whole machine over that wall time, and the workers' measuring time."""

    workers: int
    threads: int
    wall_s: float
    worker_cpu_s: float
    wanted_cpu_s: float
    bench_cpu_s: float
    machine_cpu_s: float
    measuring_s: float
    load: float


def queue_seconds(
    url: str,
    broker_url: str,
    path: Path,
    root: Path,
    *,
    workers: int,
    threads: int,
    subjects: tuple[str, ...],
) -> QueueRun:
    """`workers` worker processes of `threads` threads measuring QUEUED analyses whose work
    orders the relay publishes when the clock starts."""
    storage_dir = root / f"objects-{uuid.uuid4().hex[:8]}"
    engine, sessions, _settings = prepared(url, storage_dir, subjects)
    queue_uploads(sessions, LocalObjectStorage(storage_dir), path, QUEUED, subjects)
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
        wanted_before = wanted_cpu_seconds(processes)
        own_before = own_cpu_seconds()
        machine_before = machine_busy_seconds()
        started = time.perf_counter()
        if relay.drain() < QUEUED:
            raise RuntimeError("the relay did not publish every work order")
        while sum(measured(sessions)[:2]) < QUEUED:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        run = QueueRun(
            workers=workers,
            threads=threads,
            wall_s=seconds,
            worker_cpu_s=cpu_seconds(processes) - cpu_before,
            wanted_cpu_s=wanted_cpu_seconds(processes) - wanted_before,
            bench_cpu_s=own_cpu_seconds() - own_before,
            machine_cpu_s=machine_busy_seconds() - machine_before,
            measuring_s=measured(sessions)[2],
            load=os.getloadavg()[0],
        )
        done, failed, _measuring = measured(sessions)
        if failed:
            raise RuntimeError(f"{failed} analyses failed")
        print(
            f"  {workers} worker(s) x {threads} thread(s): {done} label maps in "
            f"{run.wall_s:.2f} s, workers {run.worker_cpu_s:.1f} CPU s, load {run.load:.1f}",
            flush=True,
        )
    finally:
        stop_workers(processes)
        _delete_queues(broker)
        broker.close()
        engine.dispose()
    return run


def sequential_seconds(url: str, path: Path, root: Path, subjects: tuple[str, ...]) -> float:
    """The former periodic job's throughput: one thread measuring the queue one by one,
    whatever the number of workers (it ran under one lock for the whole cluster)."""
    storage_dir = root / "objects-sequential"
    engine, sessions, _settings = prepared(url, storage_dir, subjects)
    storage = LocalObjectStorage(storage_dir)
    queue_uploads(sessions, storage, path, QUEUED, subjects)
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


def queue_figure(admin: Any, admin_url: str, path: Path, root: Path, options: Any) -> None:
    broker_url = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    os.environ[QUEUE_NAMESPACE_VARIABLE] = f"bench-{uuid.uuid4().hex[:8]}."
    subjects = queue_subjects(options.subjects)
    print(
        f"== queue: {QUEUED} uploads of the uint8 label map over {len(subjects)} subject(s), "
        f"measured by imaging workers; {os.cpu_count()} CPUs",
        flush=True,
    )
    baseline = None
    if not options.no_baseline:
        database, url = scratch_database(admin, admin_url)
        try:
            baseline = sequential_seconds(url, path, root, subjects)
        finally:
            drop_database(admin, database)
    runs: list[tuple[int, QueueRun]] = []
    for round_number in range(1, options.rounds + 1):
        # Alternate which count of workers goes first, so that a drift in the machine's load
        # falls on both.
        order = (1, 2) if round_number % 2 else (2, 1)
        for threads in options.threads:
            for workers in order:
                database, url = scratch_database(admin, admin_url)
                try:
                    run = queue_seconds(
                        url,
                        broker_url,
                        path,
                        root,
                        workers=workers,
                        threads=threads,
                        subjects=subjects,
                    )
                finally:
                    drop_database(admin, database)
                runs.append((round_number, run))
    print_queue_table(runs, baseline)


def print_queue_table(runs: list[tuple[int, QueueRun]], baseline: float | None) -> None:
    """One line per run, then two workers' throughput against one's, round by round."""
    print()
    print(
        "| round | workers × threads | wall (s) | workers' CPU (s) | CPUs used "
        "| CPUs wanted | measuring (s, summed) | bench CPU (s) | machine busy CPU (s) "
        "| load (1 min) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for round_number, run in runs:
        print(
            f"| {round_number} | {run.workers} × {run.threads} | {run.wall_s:.1f} "
            f"| {run.worker_cpu_s:.1f} | {run.worker_cpu_s / run.wall_s:.2f} "
            f"| {run.wanted_cpu_s / run.wall_s:.2f} "
            f"| {run.measuring_s:.1f} | {run.bench_cpu_s:.1f} | {run.machine_cpu_s:.1f} "
            f"| {run.load:.1f} |"
        )
    if baseline is not None:
        print(f"\nthe former job (one thread, one after another): {baseline:.1f} s")
    by_key = {(number, run.threads, run.workers): run for number, run in runs}
    for threads in sorted({run.threads for _number, run in runs}, reverse=True):
        ratios = [
            by_key[(number, threads, 1)].wall_s / by_key[(number, threads, 2)].wall_s
            for number in sorted({number for number, _run in runs})
            if (number, threads, 1) in by_key and (number, threads, 2) in by_key
        ]
        listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"{threads} thread(s) a worker: two workers' throughput / one's, by round: {listed}")


def arguments() -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--queue", action="store_true", help="time the queue alone (5), not figures 1-4"
    )
    parser.add_argument(
        "--subjects", type=int, default=QUEUED, help="subjects the uploads are spread over"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 1 and 2 workers")
    parser.add_argument(
        "--threads",
        type=lambda value: [int(part) for part in value.split(",")],
        default=[4, 1],
        help="threads a worker, comma-separated (the production default is 4)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the former job's one-by-one figure"
    )
    options = parser.parse_args()
    if not 1 <= options.subjects <= QUEUED or options.rounds < 1:
        parser.error(f"--subjects takes 1 to {QUEUED}, --rounds at least 1")
    return options


def main() -> None:
    options = arguments()
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
        for name, path in files.items() if not options.queue else ():
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
        queue_figure(admin, admin_url, files["uint8 .nii.gz"], root, options)
    admin.dispose()


if __name__ == "__main__":
    main()
