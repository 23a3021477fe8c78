"""Imaging: the real segmentations measured as the worker measures them, and FHIR Bundles read.

1. Each real DICOM-SEG / NIfTI file of tests/data/real/imaging (SOURCES.md), measured by
   `imaging.ct_analyses.service.measure` (ZIP extraction, reading, segment choice, counting) with
   the parameters the tests use: best of 5, `time.perf_counter`.
2. A FHIR collection Bundle of N entries (a Patient, then arterial gas panels of 4 members each,
   with FiO2), planned (`bundles.plan`: which entry is an outcome, a member, or skipped) and every
   Observation parsed with the FHIR R4B models (`observations.parse`), for N = 100, 1,000 and
   5,000 (the largest Bundle accepted): best of 3. The database part of the intake is not timed
   here.

Usage: uv run --frozen python bench/imaging_real_inputs.py
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service as ct_service
from imaging.fhir import bundles, observations

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real" / "imaging"
SERIES = [REAL / "dcmqi" / "24x38x3" / "image" / f"IMG000{n}.dcm" for n in (1, 2, 3)]


def best(repeats: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def zipped(*files: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in files:
            bundle.writestr(path.name, path.read_bytes())
    return buffer.getvalue()


def parameters(lung: list[int] | None, lesion: list[int] | None = None) -> dict[str, Any]:
    return {
        "lung_labels": lung,
        "lesion_labels": lesion,
        "other_labels": [],
        "lesion_outside_lung": "count_as_lung",
    }


HIGHDICOM = REAL / "highdicom"
DCMQI = REAL / "dcmqi"
CASES: list[tuple[str, str, bytes, dict[str, Any]]] = [
    ("highdicom seg_image_ct_binary", "dicom-seg",
     (HIGHDICOM / "seg_image_ct_binary.dcm").read_bytes(), parameters([1])),
    ("highdicom seg_image_ct_true_fractional", "dicom-seg",
     (HIGHDICOM / "seg_image_ct_true_fractional.dcm").read_bytes(), parameters([1])),
    ("dcmqi liver (3 × 512 × 512)", "dicom-seg",
     (DCMQI / "liver.dcm").read_bytes(), parameters([1])),
    ("dcmqi partial_overlaps (5 segments)", "dicom-seg",
     (DCMQI / "partial_overlaps.dcm").read_bytes(), parameters([1, 2], [4])),
    ("dcmqi label-map SEG + series (ZIP)", "dicom-seg",
     zipped(DCMQI / "sparse-labelmap-noppv.dcm", *SERIES), parameters([1])),
    ("TotalSegmentator example_seg (names)", "nifti",
     (REAL / "totalsegmentator" / "example_seg.nii.gz").read_bytes(), parameters(None)),
]  # fmt: skip


def measurements() -> None:
    print("| file | measured in (ms, best of 5) | lung (mL) |")
    print("|---|---:|---:|")
    with TemporaryDirectory() as folder:
        for name, file_format, content, params in CASES:
            path = Path(folder) / "upload"
            path.write_bytes(content)
            volumes = ct_service.measure(path, file_format, params, ReadLimits())
            seconds = best(5, lambda: ct_service.measure(path, file_format, params, ReadLimits()))  # noqa: B023
            print(f"| {name} | {seconds * 1000:.1f} | {volumes.lung_ml:.6f} |")


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def observation(identifier: str, code: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": identifier,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-03T09:30:00+08:00",
        "valueQuantity": quantity(value, unit),
    }


def gas_bundle(entries: int) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": "p1"}]
    panel = 0
    while len(resources) < entries:
        members = [
            observation(f"ph-{panel}", "2744-1", 7.4, "[pH]"),
            observation(f"pco2-{panel}", "2019-8", 40, "mm[Hg]"),
            observation(f"po2-{panel}", "2703-7", 80, "mm[Hg]"),
            observation(f"fio2-{panel}", "3150-0", 21, "%"),
        ]
        panel_resource = observation(f"abg-{panel}", "24336-0", 0, "1")
        del panel_resource["valueQuantity"]
        panel_resource["hasMember"] = [{"reference": f"Observation/{m['id']}"} for m in members]
        resources.extend([panel_resource, *members])
        panel += 1
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources[:entries]],
    }


def bundle_reading() -> None:
    print("| entries | plan (ms) | plan + parse every Observation (ms) |")
    print("|---:|---:|---:|")
    for size in (100, 1_000, 5_000):
        payload = gas_bundle(size)

        def plan_only(payload: dict[str, Any] = payload) -> None:
            bundles.plan(payload)

        def plan_and_parse(payload: dict[str, Any] = payload) -> None:
            plan = bundles.plan(payload)
            for item in plan.items:
                resource = item.entry.resource or {}
                if resource.get("resourceType") == "Observation":
                    observations.parse(resource)

        print(
            f"| {size:,} | {best(3, plan_only) * 1000:.1f} | {best(3, plan_and_parse) * 1000:.1f} |"
        )


if __name__ == "__main__":
    measurements()
    print()
    bundle_reading()
