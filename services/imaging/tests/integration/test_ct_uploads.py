"""CT segmentations through the upload endpoint and the worker: acceptance volumes, errors."""

from __future__ import annotations

import copy
import gzip
import io
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import highdicom as hd
import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid
from sqlalchemy import func, select

from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.ct_analyses.storage import LocalObjectStorage

from .conftest import DAY_1, SUBJECT, Desk, at_site

nib: Any = nibabel  # nibabel's constructors carry no type annotations

# OUTCOMES.md §5.3: CT_small, PixelSpacing 0.661468 mm, three slices 5 mm apart.
PIXEL_SPACING_MM = 0.661468
SLICE_SPACING_MM = 5.0


def ct_series(slices: int = 3, *, shift_rows_mm: float = 0.0) -> list[Dataset]:
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        raise FileNotFoundError("pydicom's bundled CT_small.dcm is missing")
    template: Dataset = pydicom.dcmread(path)
    series_uid = generate_uid()
    images: list[Dataset] = []
    for index in range(slices):
        image = copy.deepcopy(template)
        image.SOPInstanceUID = generate_uid()
        image.file_meta.MediaStorageSOPInstanceUID = image.SOPInstanceUID
        image.SeriesInstanceUID = series_uid
        image.InstanceNumber = index + 1
        x, y, z = (float(value) for value in template.ImagePositionPatient)
        image.ImagePositionPatient = [x + shift_rows_mm, y, z + SLICE_SPACING_MM * index]
        images.append(image)
    return images


def acceptance_masks(*, lung: bool = True) -> np.ndarray:
    """Lung 80 × 80 on each of 3 slices (19,200 voxels), lesion 20 × 20 on the middle one."""
    masks = np.zeros((3, 128, 128, 2), dtype=bool)
    if lung:
        masks[:, 24:104, 24:104, 0] = True
    masks[1, 54:74, 54:74, 1] = lung
    return masks


def seg_bytes(images: Sequence[Dataset], masks: np.ndarray) -> bytes:
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Lesion if label == "Lesion" else codes.SCT.Lung,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, label in enumerate(("Lung", "Lesion"), start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=list(images),
        pixel_array=masks,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=100,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Doseline",
        manufacturer_model_name="upload tests",
        software_versions="1",
        device_serial_number="1",
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    return buffer.getvalue()


def series_zip(seg: bytes, images: Sequence[Dataset]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("seg.dcm", seg)
        for index, image in enumerate(images):
            content = io.BytesIO()
            image.save_as(content, enforce_file_format=True)
            bundle.writestr(f"ct/{index}.dcm", content.getvalue())
    return buffer.getvalue()


def label_map_bytes(masks: np.ndarray) -> bytes:
    """The same geometry as a NIfTI label map: 1 = lung, 2 = lesion (a lesion replaces lung)."""
    label_map = np.zeros((128, 128, 3), dtype=np.uint8)
    label_map[masks[..., 0].transpose(2, 1, 0)] = 1
    label_map[masks[..., 1].transpose(2, 1, 0)] = 2
    affine = np.diag([PIXEL_SPACING_MM, PIXEL_SPACING_MM, SLICE_SPACING_MM, 1.0])
    image = nib.Nifti1Image(label_map, affine)
    image.header.set_xyzt_units("mm")
    buffer = io.BytesIO()
    file_map = image.make_file_map({"image": buffer, "header": buffer})
    image.to_file_map(file_map)
    return buffer.getvalue()


def upload(
    desk: Desk,
    content: bytes,
    *,
    file_format: str,
    subject: str = SUBJECT,
    status: int = 202,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = desk.client.post(
        f"/v1/subjects/{subject}/ct-analyses",
        params={
            "format": file_format,
            "performed_at": at_site(DAY_1 - timedelta(days=5)),
            "lung_labels": [1],
            "lesion_labels": [2],
        },
        content=content,
        headers={**(headers or desk.as_()), "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def run_worker(desk: Desk) -> int:
    return ct_service.process_pending(
        desk.db,
        LocalObjectStorage(desk.settings.storage_dir),
        limits=ReadLimits(),
        lease=timedelta(minutes=10),
    )


def analysis(desk: Desk, analysis_id: str) -> dict[str, Any]:
    response = desk.client.get(f"/v1/ct-analyses/{analysis_id}", headers=desk.as_())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_objects(desk: Desk) -> list[Path]:
    root = desk.settings.storage_dir
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol()
    desk.treat()
    return desk


def _assert_acceptance_volumes(body: dict[str, Any]) -> None:
    assert body["status"] == "done", body["error"]
    metrics = body["assessment"]["metrics"]
    assert metrics["lung_ml"] == pytest.approx(42.0038, abs=1e-4)
    assert metrics["lesion_ml"] == pytest.approx(0.8751, abs=1e-4)
    assert metrics["lesion_fraction"] == pytest.approx(0.020833, abs=1e-4)
    assert body["assessment"]["visit"] == "baseline"


def test_a_dicom_seg_upload_is_queued_then_measured_by_the_worker_to_the_acceptance_volumes(
    enrolled: Desk,
) -> None:
    created = upload(enrolled, seg_bytes(ct_series(), acceptance_masks()), file_format="dicom-seg")
    assert created["status"] == "queued"
    assert analysis(enrolled, created["id"])["status"] == "queued"
    assert run_worker(enrolled) == 1
    done = analysis(enrolled, created["id"])
    _assert_acceptance_volumes(done)
    assert done["attempts"] == 1
    assert done["assessment"]["results"]["voxels"]["slice_spacing_source"] == (
        "segmentation frame ImagePositionPatient"
    )


def test_a_dicom_seg_with_its_source_series_in_a_zip_gives_the_same_volumes(
    enrolled: Desk,
) -> None:
    images = ct_series()
    bundle = series_zip(seg_bytes(images, acceptance_masks()), images)
    created = upload(enrolled, bundle, file_format="dicom-seg", content_type="application/zip")
    run_worker(enrolled)
    done = analysis(enrolled, created["id"])
    _assert_acceptance_volumes(done)
    assert done["assessment"]["results"]["voxels"]["slice_spacing_source"] == (
        "source CT series ImagePositionPatient"
    )


def test_the_same_geometry_as_a_nifti_label_map_gives_the_same_volumes(enrolled: Desk) -> None:
    created = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    run_worker(enrolled)
    _assert_acceptance_volumes(analysis(enrolled, created["id"]))


def test_a_mask_that_does_not_lie_on_its_source_series_fails_and_its_file_is_deleted(
    enrolled: Desk,
) -> None:
    seg = seg_bytes(ct_series(), acceptance_masks())
    other_series = ct_series(shift_rows_mm=3.0)
    created = upload(
        enrolled,
        series_zip(seg, other_series),
        file_format="dicom-seg",
        content_type="application/zip",
    )
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert failed["assessment"] is None
    assert "GeometryMismatchError" in failed["error"]
    assert stored_objects(enrolled) == []


def test_an_empty_lung_fails_with_an_error_that_says_so(enrolled: Desk) -> None:
    created = upload(enrolled, label_map_bytes(acceptance_masks(lung=False)), file_format="nifti")
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert "EmptyLungError" in failed["error"]


def test_a_truncated_label_map_fails_in_the_worker_and_nothing_stays_stored(
    enrolled: Desk,
) -> None:
    content = label_map_bytes(acceptance_masks())
    created = upload(enrolled, content[: len(content) // 2], file_format="nifti")
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert "UnreadableFileError" in failed["error"]
    assert stored_objects(enrolled) == []


@pytest.mark.parametrize(
    ("content", "file_format"),
    [
        (b"this is not a scan at all", "nifti"),
        (b"%PDF-1.7 not dicom" * 20, "dicom-seg"),
        (b"", "nifti"),
    ],
)
def test_a_file_that_is_plainly_not_the_format_is_422_at_once_and_nothing_is_stored(
    enrolled: Desk, content: bytes, file_format: str
) -> None:
    problem = upload(enrolled, content, file_format=file_format, status=422)
    assert problem["type"] == "/problems/unreadable-file"
    assert stored_objects(enrolled) == []
    with enrolled.db() as session:
        assert session.scalar(select(func.count()).select_from(CtAnalysisRow)) == 0


def test_an_oversized_upload_is_413_and_leaves_no_row_and_no_file(enrolled: Desk, api: Any) -> None:
    small = api("imaging", max_upload_bytes=1000)
    response = small.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={
            "format": "nifti",
            "performed_at": at_site(DAY_1),
            "lung_labels": [1],
            "lesion_labels": [2],
        },
        content=iter([b"\x00" * 600, b"\x00" * 600]),  # streamed: no Content-Length
        headers=enrolled.as_(),
    )
    assert response.status_code == 413, response.text
    assert response.json()["max_bytes"] == 1000
    assert stored_objects(enrolled) == []
    with enrolled.db() as session:
        assert session.scalar(select(func.count()).select_from(CtAnalysisRow)) == 0


def test_an_upload_for_an_unknown_subject_is_409_and_its_file_is_not_kept(desk: Desk) -> None:
    problem = upload(
        desk,
        label_map_bytes(acceptance_masks()),
        file_format="nifti",
        subject="HDMSC-RP-01-404",
        status=409,
    )
    assert problem["type"] == "/problems/subject-not-known-yet"
    assert stored_objects(desk) == []


@pytest.mark.parametrize(
    "params",
    [
        {"lung_labels": [1], "lesion_labels": [1]},
        {"lung_labels": [0], "lesion_labels": [2]},
        {"lung_labels": [1]},
        {"lung_labels": [1], "lesion_labels": [2], "lesion_outside_lung": "exclude"},
    ],
)
def test_incoherent_labels_are_422_before_the_file_is_read(
    enrolled: Desk, params: dict[str, Any]
) -> None:
    response = enrolled.client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={"format": "nifti", "performed_at": at_site(DAY_1), **params},
        content=label_map_bytes(acceptance_masks()),
        headers=enrolled.as_(),
    )
    assert response.status_code == 422, response.text
    assert stored_objects(enrolled) == []


def test_a_retried_upload_with_the_same_key_queues_one_analysis(enrolled: Desk) -> None:
    headers = enrolled.as_()
    content = label_map_bytes(acceptance_masks())
    first = upload(enrolled, content, file_format="nifti", headers=headers)
    second = upload(enrolled, content, file_format="nifti", headers=headers)
    assert first["id"] == second["id"]
    assert len(stored_objects(enrolled)) == 1


def test_the_worker_records_a_ct_measured_event_and_an_audit_entry(enrolled: Desk) -> None:
    from doseline import audit
    from doseline.schema import ServiceSchema

    created = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    run_worker(enrolled)
    with enrolled.db() as session:
        outbox = ServiceSchema.of(session).kit.outbox
        types = set(session.scalars(select(outbox.c.event_type)))
        history = audit.entity_history(session, entity_type="ct_analysis", entity_id=created["id"])
    assert {"imaging.ct.measured", "imaging.outcome.recorded"} <= types
    assert [entry["action"] for entry in history] == ["ct_analysis.upload", "ct_analysis.done"]


def test_a_subjects_uploads_are_listed_with_their_progress(enrolled: Desk) -> None:
    first = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    run_worker(enrolled)
    second = upload(enrolled, seg_bytes(ct_series(), acceptance_masks()), file_format="dicom-seg")
    page = enrolled.client.get(
        f"/v1/subjects/{SUBJECT}/ct-analyses", params={"limit": 1}, headers=enrolled.as_()
    ).json()
    assert [(item["id"], item["status"]) for item in page["items"]] == [(first["id"], "done")]
    rest = enrolled.client.get(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=enrolled.as_(),
    ).json()
    assert [(item["id"], item["status"]) for item in rest["items"]] == [(second["id"], "queued")]
    assert rest["next_cursor"] is None


def test_a_512_by_512_by_300_label_map_is_measured_by_the_worker(enrolled: Desk) -> None:
    # A full-size chest CT grid (78.6 million voxels, 0.7 × 0.7 × 1.0 mm): a lung block of
    # 300 × 400 × 250 voxels labelled 1 with a lesion block of 40 × 50 × 30 labelled 2 inside.
    data = np.zeros((512, 512, 300), dtype=np.uint8)
    data[100:400, 50:450, 20:270] = 1
    data[200:240, 200:250, 100:130] = 2
    image = nib.Nifti1Image(data, np.diag([0.7, 0.7, 1.0, 1.0]))
    image.header.set_xyzt_units("mm")
    buffer = io.BytesIO()
    image.to_file_map(image.make_file_map({"image": buffer, "header": buffer}))
    compressed = gzip.compress(buffer.getvalue(), compresslevel=1)
    created = upload(enrolled, compressed, file_format="nifti")
    run_worker(enrolled)
    done = analysis(enrolled, created["id"])
    assert done["status"] == "done", done["error"]
    voxel_ml = 0.7 * 0.7 * 1.0 / 1000
    metrics = done["assessment"]["metrics"]
    assert metrics["lung_ml"] == pytest.approx(300 * 400 * 250 * voxel_ml)
    assert metrics["lesion_ml"] == pytest.approx(40 * 50 * 30 * voxel_ml)


def nifti_bytes(data: np.ndarray, spacing: tuple[float, float, float]) -> bytes:
    image = nib.Nifti1Image(data, np.diag([*spacing, 1.0]))
    image.header.set_xyzt_units("mm")
    buffer = io.BytesIO()
    image.to_file_map(image.make_file_map({"image": buffer, "header": buffer}))
    return buffer.getvalue()


def label_map_with_image(image_spacing: tuple[float, float, float]) -> bytes:
    ct = np.zeros((128, 128, 3), dtype=np.int16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("labels.nii", label_map_bytes(acceptance_masks()))
        bundle.writestr("image.nii.gz", gzip.compress(nifti_bytes(ct, image_spacing)))
    return buffer.getvalue()


def test_a_label_map_with_the_ct_it_was_drawn_on_gives_the_acceptance_volumes(
    enrolled: Desk,
) -> None:
    content = label_map_with_image((PIXEL_SPACING_MM, PIXEL_SPACING_MM, SLICE_SPACING_MM))
    created = upload(enrolled, content, file_format="nifti", content_type="application/zip")
    run_worker(enrolled)
    _assert_acceptance_volumes(analysis(enrolled, created["id"]))


def test_a_label_map_that_does_not_match_its_ct_fails_and_nothing_stays_stored(
    enrolled: Desk,
) -> None:
    content = label_map_with_image((PIXEL_SPACING_MM, PIXEL_SPACING_MM, 2.5))
    created = upload(enrolled, content, file_format="nifti", content_type="application/zip")
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert "GeometryMismatchError" in failed["error"]
    assert stored_objects(enrolled) == []


def test_a_zip_without_labels_and_image_members_fails_saying_what_it_must_hold(
    enrolled: Desk,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("scan.nii", label_map_bytes(acceptance_masks()))
    created = upload(
        enrolled, buffer.getvalue(), file_format="nifti", content_type="application/zip"
    )
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert "labels.nii[.gz]" in failed["error"]


def test_a_file_the_worker_died_on_three_times_fails_instead_of_being_retried(
    enrolled: Desk,
) -> None:
    created = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    with enrolled.db() as session, session.begin():
        row = session.get(CtAnalysisRow, uuid.UUID(created["id"]))
        assert row is not None
        # Three claims whose worker never came back, the last one past its lease.
        row.status = "processing"
        row.attempts = 3
        row.claimed_at = datetime.now(UTC) - timedelta(hours=1)
    run_worker(enrolled)
    failed = analysis(enrolled, created["id"])
    assert failed["status"] == "failed"
    assert "stopped 3 times" in failed["error"]
    assert stored_objects(enrolled) == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"format": "dicom-seg", "lung_segments": [1]}, "lung_segments"),
        ({"format": "dicom-seg", "lung_labels": [1], "lesion_labels": [1]}, "lesion_labels"),
        ({"format": "dicom-seg", "lesion_labels": [0]}, "lesion_labels"),
        ({"format": "dicom-seg", "other_labels": [3]}, "other_labels"),
        ({"format": "nifti", "lung_labels": [1]}, "lesion_labels"),
        ({"format": "nifti", "lesion_labels": [2]}, "lung_labels"),
        (
            {"format": "nifti", "lung_labels": [1], "lesion_labels": [2], "other_labels": [2]},
            "other_labels",
        ),
    ],
)
def test_a_query_parameter_error_names_the_parameter_the_caller_sent(
    enrolled: Desk, params: dict[str, Any], parameter: str
) -> None:
    response = enrolled.client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={"performed_at": at_site(DAY_1), **params},
        content=label_map_bytes(acceptance_masks()),
        headers=enrolled.as_(),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["query", parameter]
    assert problem["detail"].startswith(f"query.{parameter}:")
    assert stored_objects(enrolled) == []


def test_a_dicom_seg_coded_as_lung_and_lesion_needs_no_segment_numbers(enrolled: Desk) -> None:
    response = enrolled.client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={"format": "dicom-seg", "performed_at": at_site(DAY_1 - timedelta(days=5))},
        content=seg_bytes(ct_series(), acceptance_masks()),
        headers={**enrolled.as_(), "Content-Type": "application/dicom"},
    )
    assert response.status_code == 202, response.text
    run_worker(enrolled)
    body = analysis(enrolled, response.json()["id"])
    _assert_acceptance_volumes(body)
    segments = body["assessment"]["results"]["voxels"]["segments"]
    assert [(s["role"], s["number"], s["chosen_by"]) for s in segments] == [
        ("lung", 1, "coded meaning"),
        ("lesion", 2, "coded meaning"),
    ]
