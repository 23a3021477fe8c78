"""Segmentations written by highdicom, dcmqi and TotalSegmentator, uploaded as they were published.

Each file under tests/data/real/imaging (origin, licence and expected result in SOURCES.md) is
sent through the upload endpoint unmodified — alone, or as a member of a ZIP with its source
series — and measured by the worker. Every volume is checked against a count made here, from
the file, with pydicom or nibabel; every refusal must say what was found and what to do.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pydicom
import pytest

from imaging.ct.errors import MAX_MESSAGE_CHARS
from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses.storage import LocalObjectStorage

from .conftest import DAY_1, SUBJECT, Desk, at_site

nib: Any = nibabel  # nibabel's constructors carry no type annotations

REAL = Path(__file__).resolve().parents[4] / "tests" / "data" / "real" / "imaging"
DCMQI_SERIES = [REAL / "dcmqi" / "24x38x3" / "image" / f"IMG000{n}.dcm" for n in (1, 2, 3)]


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol()
    desk.treat()
    return desk


def measured(
    desk: Desk, content: bytes, *, file_format: str = "dicom-seg", **labels: list[int]
) -> dict[str, Any]:
    """Upload as sent, let the worker measure it, and return the analysis."""
    response = desk.client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={
            "format": file_format,
            "performed_at": at_site(DAY_1 - timedelta(days=5)),
            **labels,
        },
        content=content,
        headers={**desk.as_(), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    ct_service.process_pending(
        desk.db,
        LocalObjectStorage(desk.settings.storage_dir),
        limits=ReadLimits(),
        lease=timedelta(minutes=10),
    )
    analysis = desk.client.get(f"/v1/ct-analyses/{response.json()['id']}", headers=desk.as_())
    assert analysis.status_code == 200, analysis.text
    body: dict[str, Any] = analysis.json()
    if body["status"] == "failed":
        assert len(body["error"]) <= MAX_MESSAGE_CHARS
    return body


def zipped(*files: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in files:
            bundle.writestr(path.name, path.read_bytes())  # each member byte for byte
    return buffer.getvalue()


def seg_voxels(path: Path, segments: set[int], *, fractional_at: float = 0.5) -> int:
    """Voxels in the union of the segments, per frame position, counted with pydicom alone."""
    seg = pydicom.dcmread(path)
    pixels = seg.pixel_array.reshape(int(seg.NumberOfFrames), seg.Rows, seg.Columns)
    shared = seg.SharedFunctionalGroupsSequence[0]
    union: dict[tuple[float, ...], np.ndarray] = {}
    for index, frame in enumerate(seg.PerFrameFunctionalGroupsSequence):
        position = tuple(
            round(float(v), 3) for v in frame.PlanePositionSequence[0].ImagePositionPatient
        )
        if seg.SOPClassUID.endswith(".66.7"):
            inside = np.isin(pixels[index], sorted(segments))
        else:
            identification = (
                frame.get("SegmentIdentificationSequence") or shared.SegmentIdentificationSequence
            )
            if int(identification[0].ReferencedSegmentNumber) not in segments:
                continue
            inside = pixels[index] != 0
            if seg.SegmentationType == "FRACTIONAL":
                inside = pixels[index] >= fractional_at * int(seg.MaximumFractionalValue)
        union[position] = union.get(position, np.zeros_like(inside)) | inside
    return int(sum(int(np.count_nonzero(mask)) for mask in union.values()))


def seg_voxel_mm3(path: Path, slice_spacing_mm: float) -> float:
    seg = pydicom.dcmread(path, stop_before_pixels=True)
    rows, columns = (
        float(v)
        for v in seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    )
    return rows * columns * slice_spacing_mm


def assert_measured(body: dict[str, Any], lung_ml: float, lesion_ml: float = 0.0) -> dict[str, Any]:
    assert body["status"] == "done", body["error"]
    metrics = body["assessment"]["metrics"]
    assert metrics["lung_ml"] == pytest.approx(lung_ml, rel=1e-9)
    assert metrics["lesion_ml"] == pytest.approx(lesion_ml, rel=1e-9)
    voxels: dict[str, Any] = body["assessment"]["results"]["voxels"]
    return voxels


def assert_refused(body: dict[str, Any], *fragments: str) -> None:
    assert body["status"] == "failed"
    for fragment in fragments:
        assert fragment in body["error"]


HIGHDICOM_ONE_BONE_SEGMENT = [
    "seg_image_ct_binary.dcm",
    "seg_image_ct_binary_fractional.dcm",
    "seg_image_ct_true_fractional.dcm",
]


@pytest.mark.parametrize("name", HIGHDICOM_ONE_BONE_SEGMENT)
def test_highdicom_segmentations_of_bone_are_refused_then_measured_with_the_segment_numbered(
    enrolled: Desk, name: str
) -> None:
    path = REAL / "highdicom" / name
    refused = measured(enrolled, path.read_bytes())
    assert_refused(
        refused, "no segment is coded as lung", "1 'first segment' (Bone)", "lung_labels"
    )

    body = measured(enrolled, path.read_bytes(), lung_labels=[1])
    # Three frames 1.25 mm apart (ImagePositionPatient), no SpacingBetweenSlices.
    expected = seg_voxels(path, {1}) * seg_voxel_mm3(path, 1.25) / 1000
    voxels = assert_measured(body, expected)
    assert voxels["segments"] == [
        {
            "role": "lung",
            "number": 1,
            "label": "first segment",
            "code": "SCT 272673000 Bone",
            "chosen_by": "request",
        }
    ]
    assert any("no lesion segment" in note for note in voxels["notes"])
    if "fractional" in name:
        assert any("thresholded at 0.5" in note for note in voxels["notes"])


def test_a_highdicom_segmentation_with_an_irregular_frame_gap_is_refused_clearly(
    enrolled: Desk,
) -> None:
    # Frames at z = -99.48, 103.02, 104.27 and 105.52 mm: no even slice spacing.
    body = measured(
        enrolled,
        (REAL / "highdicom" / "seg_image_ct_binary_overlap.dcm").read_bytes(),
        lung_labels=[1],
    )
    assert_refused(body, "irregular slice spacing", "supply the source CT series")


def test_a_single_frame_highdicom_segmentation_is_refused_even_with_its_source_image(
    enrolled: Desk,
) -> None:
    folder = REAL / "highdicom"
    alone = measured(
        enrolled, (folder / "seg_image_ct_binary_single_frame.dcm").read_bytes(), lung_labels=[1]
    )
    assert_refused(alone, "single slice position")
    with_image = measured(
        enrolled,
        zipped(folder / "seg_image_ct_binary_single_frame.dcm", folder / "ct_image.dcm"),
        lung_labels=[1],
    )
    assert_refused(with_image, "single slice position")


def test_dcmqis_liver_segmentation_is_refused_then_measured_as_numbered(enrolled: Desk) -> None:
    path = REAL / "dcmqi" / "liver.dcm"
    assert_refused(measured(enrolled, path.read_bytes()), "1 'Liver'", "lung_labels")
    body = measured(enrolled, path.read_bytes(), lung_labels=[1])
    # SpacingBetweenSlices 1 mm agrees with the frame positions.
    assert_measured(body, seg_voxels(path, {1}) * seg_voxel_mm3(path, 1.0) / 1000)


def test_dcmqis_overlapping_segments_count_their_union_once(enrolled: Desk) -> None:
    path = REAL / "dcmqi" / "partial_overlaps.dcm"
    refused = measured(enrolled, path.read_bytes())
    assert_refused(refused, "1 'GREEN' (Tissue)", "4 'LIGHT_BLUE' (Edema)", "5 'DARK_BLUE' (Vein)")
    body = measured(enrolled, path.read_bytes(), lung_labels=[1, 2], lesion_labels=[4])
    lesion_voxels = seg_voxels(path, {4})
    lung_voxels = seg_voxels(path, {1, 2, 4})  # the whole lung includes the lesion (§5.1)
    voxels = assert_measured(
        body,
        lung_voxels * seg_voxel_mm3(path, 1.0) / 1000,
        lesion_voxels * seg_voxel_mm3(path, 1.0) / 1000,
    )
    assert [(s["role"], s["number"]) for s in voxels["segments"]] == [
        ("lung", 1),
        ("lung", 2),
        ("lesion", 4),
    ]


def test_a_label_map_seg_alone_is_refused_for_its_missing_frames_and_measured_with_its_series(
    enrolled: Desk,
) -> None:
    path = REAL / "dcmqi" / "sparse-labelmap-noppv.dcm"
    alone = measured(enrolled, path.read_bytes(), lung_labels=[1])
    assert_refused(alone, "SpacingBetweenSlices is 2.5 mm", "supply the source CT series")
    with_series = measured(enrolled, zipped(path, *DCMQI_SERIES), lung_labels=[1])
    voxels = assert_measured(with_series, seg_voxels(path, {1}) * 0.7 * 0.7 * 2.5 / 1000)
    assert voxels["slice_spacing_source"] == "source CT series ImagePositionPatient"


def test_a_binary_seg_in_a_zip_with_or_without_its_series_gives_the_same_volume(
    enrolled: Desk,
) -> None:
    path = REAL / "dcmqi" / "24x38x3" / "seg" / "label.seg"
    expected = seg_voxels(path, {1}) * seg_voxel_mm3(path, 2.5) / 1000
    assert_measured(measured(enrolled, zipped(path, *DCMQI_SERIES), lung_labels=[1]), expected)
    assert_measured(measured(enrolled, zipped(path), lung_labels=[1]), expected)


def test_totalsegmentators_label_map_is_measured_from_the_lobes_it_names(enrolled: Desk) -> None:
    path = REAL / "totalsegmentator" / "example_seg.nii.gz"
    image = nib.load(path)
    data = np.asanyarray(image.dataobj)
    voxel_mm3 = abs(float(np.linalg.det(image.affine[:3, :3])))
    lobes = np.isin(data, [10, 11, 12, 13, 14])  # TotalSegmentator's lung lobe labels
    body = measured(enrolled, path.read_bytes(), file_format="nifti")
    voxels = assert_measured(body, int(np.count_nonzero(lobes)) * voxel_mm3 / 1000)
    assert [s["label"] for s in voxels["segments"]] == [
        "lung_upper_lobe_left",
        "lung_lower_lobe_left",
        "lung_upper_lobe_right",
        "lung_middle_lobe_right",
        "lung_lower_lobe_right",
    ]
    assert "labels named by the NIfTI header's label table" in voxels["notes"]


def test_totalsegmentators_single_lobe_mask_needs_its_labels_given(enrolled: Desk) -> None:
    path = REAL / "totalsegmentator" / "lung_lower_lobe_left.nii.gz"
    refused = measured(enrolled, path.read_bytes(), file_format="nifti")
    assert_refused(refused, "names none of its labels", "lung_labels and lesion_labels")
    body = measured(
        enrolled, path.read_bytes(), file_format="nifti", lung_labels=[1], lesion_labels=[2]
    )
    image = nib.load(path)
    voxel_mm3 = abs(float(np.linalg.det(image.affine[:3, :3])))
    lung = int(np.count_nonzero(np.asanyarray(image.dataobj) == 1))
    assert_measured(body, lung * voxel_mm3 / 1000)


def test_a_mask_named_by_a_json_sidecar_in_its_zip_is_measured(enrolled: Desk) -> None:
    path = REAL / "totalsegmentator" / "lung_lower_lobe_left.nii.gz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("labels.nii.gz", path.read_bytes())
        bundle.writestr("dataset.json", '{"labels": {"background": 0, "lung_lower_lobe_left": 1}}')
    body = measured(enrolled, buffer.getvalue(), file_format="nifti")
    image = nib.load(path)
    voxel_mm3 = abs(float(np.linalg.det(image.affine[:3, :3])))
    lung = int(np.count_nonzero(np.asanyarray(image.dataobj) == 1))
    voxels = assert_measured(body, lung * voxel_mm3 / 1000)
    assert "labels named by the sidecar dataset.json" in voxels["notes"]
