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

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); a scratch database is created and dropped.
Usage: uv run --frozen python bench/imaging_label_map.py
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled
from doseline.db import make_engine, normalise_database_url
from doseline.settings import Environment
from imaging.ct.file_limits import ReadLimits
from imaging.ct.label_map import LabelMapLabels, label_map_volumes
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses.storage import LocalObjectStorage
from imaging.manifest import SERVICE, bootstrap
from imaging.settings import ImagingSettings
from imaging.subjects import tasks

nib: Any = nibabel
SHAPE = (512, 512, 300)
SPACING_MM = (0.7, 0.7, 1.0)
LABELS = LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2}), other=frozenset({3}))
SUBJECT = "HDMSC-RP-01-001"


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


def service_path(url: str, path: Path, storage_dir: Path) -> dict[str, float]:
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
        for name, path in files.items():
            print(f"== {name}: {SHAPE}, {path.stat().st_size / 1e6:.1f} MB on disk")
            load, load_peak = best_of(3, partial(load_as_stored, path))
            floats, float_peak = best_of(3, partial(load_as_float, path))
            measure, measure_peak = best_of(3, partial(label_map_volumes, path, LABELS))
            volumes = label_map_volumes(path, LABELS)
            print(f"load as stored    {load * 1000:8.0f} ms  peak {load_peak / 1e6:8.1f} MB")
            print(f"load as float64   {floats * 1000:8.0f} ms  peak {float_peak / 1e6:8.1f} MB")
            print(f"measure (pure)    {measure * 1000:8.0f} ms  peak {measure_peak / 1e6:8.1f} MB")
            print(f"  lung {volumes.lung_ml:.1f} mL, lesion {volumes.lesion_ml:.1f} mL")
            database = f"imaging_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
            url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
            try:
                timings = service_path(url, path, root / f"objects-{database}")
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            print(
                f"service: upload {timings['upload_s'] * 1000:.0f} ms, worker "
                f"{timings['worker_s'] * 1000:.0f} ms (measuring "
                f"{timings['measure_in_worker_s'] * 1000:.0f} ms), lung "
                f"{timings['lung_ml']:.1f} mL, lesion {timings['lesion_ml']:.1f} mL"
            )
    admin.dispose()


if __name__ == "__main__":
    main()
