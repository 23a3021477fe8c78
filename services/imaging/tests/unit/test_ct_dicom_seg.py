"""CT volumetry from DICOM-SEG, on a 3-slice CT built from pydicom's bundled CT_small.dcm.

OUTCOMES.md §5.3 recipe: a lung segment and a lesion segment on a 3-slice copy of CT_small
(PixelSpacing 0.661468 mm, 5 mm apart) give lung 19,200 voxels = 42.0038 mL, lesion 400 voxels
= 0.8751 mL, p = 0.020833.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Sequence
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

from imaging.ct.dicom_seg import SegmentSelection, dicom_seg_volumes
from imaging.ct.errors import (
    EmptyLungError,
    FileTooLargeError,
    GeometryMismatchError,
    InvalidGeometryError,
    LesionOutsideLungError,
    UnknownLabelError,
    UnreadableFileError,
)
from imaging.ct.file_limits import ReadLimits
from imaging.ct.label_map import LabelMapLabels, label_map_volumes
from imaging.ct.volumetry import LesionOutsideLung, VolumeSource

# nibabel's image and header constructors carry no type annotations.
nib: Any = nibabel

PIXEL_SPACING_MM = 0.661468
SLICE_SPACING_MM = 5.0
VOXEL_MM3 = PIXEL_SPACING_MM * PIXEL_SPACING_MM * SLICE_SPACING_MM
LUNG_AND_LESION = SegmentSelection(lung=frozenset({1}), lesion=frozenset({2}))


def _ct_small() -> Dataset:
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        raise FileNotFoundError("pydicom's bundled CT_small.dcm is missing")
    return pydicom.dcmread(path)


def ct_series(
    *,
    slices: int = 3,
    spacing_mm: float = SLICE_SPACING_MM,
    in_plane_shift_mm: float = 0.0,
    skip: Sequence[int] = (),
) -> list[Dataset]:
    """Copies of CT_small, one per slice, `spacing_mm` apart along z (the slice normal)."""
    template = _ct_small()
    series_uid = generate_uid()
    images = []
    for index in range(slices):
        if index in skip:
            continue
        image = copy.deepcopy(template)
        image.SOPInstanceUID = generate_uid()
        image.file_meta.MediaStorageSOPInstanceUID = image.SOPInstanceUID
        image.SeriesInstanceUID = series_uid
        image.InstanceNumber = index + 1
        x, y, z = (float(value) for value in template.ImagePositionPatient)
        image.ImagePositionPatient = [x + in_plane_shift_mm * index, y, z + spacing_mm * index]
        images.append(image)
    return images


def acceptance_masks(slices: int = 3) -> np.ndarray:
    """(slices, 128, 128, 2): lung 80 × 80 on every slice, lesion 20 × 20 on the middle one."""
    masks = np.zeros((slices, 128, 128, 2), dtype=bool)
    masks[:, 24:104, 24:104, 0] = True
    masks[slices // 2, 54:74, 54:74, 1] = True
    return masks


def _descriptions(labels: Sequence[str]) -> list[hd.seg.SegmentDescription]:
    return [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Lesion if "Lesion" in label else codes.SCT.Lung,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, label in enumerate(labels, start=1)
    ]


def build_seg(
    images: Sequence[Dataset],
    pixels: np.ndarray,
    *,
    labels: Sequence[str] = ("Lung", "Lesion"),
    segmentation_type: hd.seg.SegmentationTypeValues = hd.seg.SegmentationTypeValues.BINARY,
) -> bytes:
    seg = hd.seg.Segmentation(
        source_images=list(images),
        pixel_array=pixels,
        segmentation_type=segmentation_type,
        segment_descriptions=_descriptions(labels),
        series_instance_uid=generate_uid(),
        series_number=100,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Doseline",
        manufacturer_model_name="volumetry tests",
        software_versions="1",
        device_serial_number="1",
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    return buffer.getvalue()


def as_files(images: Sequence[Dataset]) -> list[bytes]:
    files = []
    for image in images:
        buffer = io.BytesIO()
        image.save_as(buffer, enforce_file_format=True)
        files.append(buffer.getvalue())
    return files


def test_acceptance_lung_42_0038_ml_lesion_0_8751_ml_p_0_020833() -> None:
    images = ct_series()
    result = dicom_seg_volumes(build_seg(images, acceptance_masks()), LUNG_AND_LESION)
    assert result.source is VolumeSource.DICOM_SEG
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_ml == pytest.approx(0.8751, abs=1e-4)
    assert result.lesion_fraction == pytest.approx(0.020833, abs=1e-4)
    assert result.voxels is not None
    assert result.voxels.lung_voxels == 19_200
    assert result.voxels.lesion_voxels == 400
    assert result.voxels.lesion_outside_lung_mask_voxels == 0
    assert result.voxels.voxel_volume_mm3 == pytest.approx(VOXEL_MM3)
    assert result.voxels.spacing_mm == pytest.approx((PIXEL_SPACING_MM, PIXEL_SPACING_MM, 5.0))
    assert result.voxels.slice_spacing_source == "segmentation frame ImagePositionPatient"
    assert "lung segment(s): 1 'Lung'" in result.voxels.notes
    assert "lesion segment(s): 2 'Lesion'" in result.voxels.notes


def test_acceptance_numbers_with_the_source_series_and_from_files_on_disk(
    tmp_path: Path,
) -> None:
    images = ct_series()
    seg_path = tmp_path / "seg.dcm"
    seg_path.write_bytes(build_seg(images, acceptance_masks()))
    image_paths = []
    for index, content in enumerate(as_files(images)):
        path = tmp_path / f"ct{index}.dcm"
        path.write_bytes(content)
        image_paths.append(path)
    result = dicom_seg_volumes(seg_path, LUNG_AND_LESION, source_images=image_paths)
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_ml == pytest.approx(0.8751, abs=1e-4)
    assert result.lesion_fraction == pytest.approx(0.020833, abs=1e-4)
    assert result.voxels is not None
    assert result.voxels.slice_spacing_source == "source CT series ImagePositionPatient"


def test_the_same_geometry_as_a_nifti_label_map_gives_the_same_numbers(tmp_path: Path) -> None:
    images = ct_series()
    masks = acceptance_masks()
    from_seg = dicom_seg_volumes(build_seg(images, masks), LUNG_AND_LESION)

    # DICOM frames are (slice, row, column); NIfTI voxels (column, row, slice) with the affine
    # taking voxel indices to millimetres.
    label_map = np.zeros((128, 128, 3), dtype=np.uint8)
    label_map[masks[..., 0].transpose(2, 1, 0)] = 1
    label_map[masks[..., 1].transpose(2, 1, 0)] = 2
    affine = np.diag([PIXEL_SPACING_MM, PIXEL_SPACING_MM, SLICE_SPACING_MM, 1.0])
    path = tmp_path / "labels.nii.gz"
    nib.Nifti1Image(label_map, affine).to_filename(path)
    from_nifti = label_map_volumes(path, LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2})))

    assert from_nifti.lung_ml == pytest.approx(from_seg.lung_ml, rel=1e-6)
    assert from_nifti.lesion_ml == pytest.approx(from_seg.lesion_ml, rel=1e-6)
    assert from_nifti.lesion_fraction == pytest.approx(from_seg.lesion_fraction, rel=1e-9)
    assert from_nifti.lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_a_lung_segment_drawn_around_the_lesion_gives_the_same_whole_lung() -> None:
    masks = acceptance_masks()
    masks[..., 0] &= ~masks[..., 1]  # the lung segment leaves a hole where the lesion is
    result = dicom_seg_volumes(build_seg(ct_series(), masks), LUNG_AND_LESION)
    assert result.voxels is not None
    assert result.voxels.counts.lung_mask_voxels == 18_800
    assert result.voxels.lung_voxels == 19_200
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_fraction == pytest.approx(400 / 19_200)


def _lesion_half_outside_the_lung() -> np.ndarray:
    masks = acceptance_masks()
    masks[..., 1] = False
    masks[1, 94:114, 54:74, 1] = True  # rows 94-103 inside the lung, 104-113 outside
    return masks


def test_lesion_outside_the_lung_counts_as_lung_by_default_and_is_reported() -> None:
    result = dicom_seg_volumes(
        build_seg(ct_series(), _lesion_half_outside_the_lung()), LUNG_AND_LESION
    )
    assert result.voxels is not None
    assert result.voxels.lesion_outside_lung is LesionOutsideLung.COUNT_AS_LUNG
    assert result.voxels.lesion_outside_lung_mask_voxels == 200
    assert result.voxels.lesion_outside_lung_mask_ml == pytest.approx(200 * VOXEL_MM3 / 1000)
    assert result.voxels.lesion_voxels == 400
    assert result.voxels.lung_voxels == 19_400
    assert result.lesion_fraction == pytest.approx(400 / 19_400)


def test_lesion_outside_the_lung_can_be_excluded() -> None:
    result = dicom_seg_volumes(
        build_seg(ct_series(), _lesion_half_outside_the_lung()),
        LUNG_AND_LESION,
        lesion_outside_lung=LesionOutsideLung.EXCLUDE,
    )
    assert result.voxels is not None
    assert result.voxels.lesion_outside_lung_mask_voxels == 200
    assert result.voxels.lesion_voxels == 200
    assert result.voxels.lung_voxels == 19_200
    assert result.lesion_fraction == pytest.approx(200 / 19_200)


def test_lesion_outside_the_lung_can_be_refused() -> None:
    with pytest.raises(LesionOutsideLungError, match="200 lesion voxels"):
        dicom_seg_volumes(
            build_seg(ct_series(), _lesion_half_outside_the_lung()),
            LUNG_AND_LESION,
            lesion_outside_lung=LesionOutsideLung.REJECT,
        )


def test_overlapping_lesion_segments_are_counted_once() -> None:
    masks = np.zeros((3, 128, 128, 3), dtype=bool)
    masks[..., :2] = acceptance_masks()
    masks[1, 64:84, 54:74, 2] = True  # second lesion overlapping the first by 10 × 20
    selection = SegmentSelection(lung=frozenset({1}), lesion=frozenset({2, 3}))
    result = dicom_seg_volumes(
        build_seg(ct_series(), masks, labels=("Lung", "Lesion A", "Lesion B")), selection
    )
    assert result.voxels is not None
    assert result.voxels.lesion_voxels == 400 + 400 - 200
    assert result.voxels.lung_voxels == 19_200


def test_a_labelmap_segmentation_gives_the_acceptance_numbers() -> None:
    masks = acceptance_masks()
    labels = np.zeros((3, 128, 128), dtype=np.uint8)
    labels[masks[..., 0]] = 1
    labels[masks[..., 1]] = 2
    seg = build_seg(ct_series(), labels, segmentation_type=hd.seg.SegmentationTypeValues.LABELMAP)
    result = dicom_seg_volumes(seg, LUNG_AND_LESION)
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_ml == pytest.approx(0.8751, abs=1e-4)


def test_a_fractional_segmentation_is_thresholded_and_says_so() -> None:
    fractions = acceptance_masks().astype(np.float32)
    fractions[1, 24:104, 24:34, 0] = 0.3  # a 10-column band of the lung below the threshold
    seg = build_seg(
        ct_series(), fractions, segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL
    )
    result = dicom_seg_volumes(seg, LUNG_AND_LESION)
    assert result.voxels is not None
    assert result.voxels.lung_voxels == 19_200 - 800
    assert any("thresholded at 0.5" in note for note in result.voxels.notes)
    lenient = dicom_seg_volumes(seg, LUNG_AND_LESION, fractional_threshold=0.25)
    assert lenient.voxels is not None
    assert lenient.voxels.lung_voxels == 19_200


@pytest.mark.parametrize("threshold", [0.0, -0.5, 1.5])
def test_a_fractional_threshold_outside_0_to_1_is_refused(threshold: float) -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    with pytest.raises(ValueError, match="fractional threshold"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, fractional_threshold=threshold)


def test_slice_spacing_comes_from_positions_not_slice_thickness() -> None:
    images = ct_series()
    for image in images:
        image.SliceThickness = 10.0  # overlapping reconstruction: thicker than the spacing
        image.SpacingBetweenSlices = 10.0
    seg = build_seg(images, acceptance_masks())
    result = dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.voxels is not None
    assert any("SpacingBetweenSlices 10 mm disagrees" in note for note in result.voxels.notes)


def test_a_tilted_gantry_stack_uses_the_spacing_along_the_slice_normal() -> None:
    images = ct_series(in_plane_shift_mm=2.0)  # positions step (2, 0, 5) mm; the normal is z
    seg = build_seg(images, acceptance_masks())
    with_source = dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))
    without = dicom_seg_volumes(seg, LUNG_AND_LESION)
    for result in (with_source, without):
        assert result.voxels is not None
        assert result.voxels.spacing_mm[2] == pytest.approx(5.0)
        assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_unknown_segments_are_refused_with_the_ones_defined() -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    selection = SegmentSelection(lung=frozenset({1}), lesion=frozenset({3}))
    with pytest.raises(UnknownLabelError, match=re.escape("1 'Lung', 2 'Lesion'")):
        dicom_seg_volumes(seg, selection)


@pytest.mark.parametrize(
    ("lung", "lesion", "message"),
    [
        (set(), {2}, "lung segment"),
        ({1}, set(), "lesion segment"),
        ({1, 2}, {2}, "both lung and lesion"),
        ({0}, {2}, "start at 1"),
    ],
)
def test_segment_selections_must_be_coherent(
    lung: set[int], lesion: set[int], message: str
) -> None:
    with pytest.raises(UnknownLabelError, match=message):
        SegmentSelection(lung=frozenset(lung), lesion=frozenset(lesion))


def test_an_empty_lung_is_refused() -> None:
    masks = np.zeros((3, 128, 128, 3), dtype=bool)
    masks[1, 10:20, 10:20, 2] = True  # only the third segment, "Airway", has voxels
    images = ct_series()
    seg = build_seg(images, masks, labels=("Lung", "Lesion", "Airway"))
    with pytest.raises(EmptyLungError, match="both empty"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))


def _modified_source(change: str) -> tuple[bytes, list[bytes]]:
    images = ct_series()
    seg = build_seg(images, acceptance_masks())
    for image in images:
        if change == "pixel spacing":
            image.PixelSpacing = [0.7, 0.7]
        elif change == "origin":
            x, y, z = (float(value) for value in image.ImagePositionPatient)
            image.ImagePositionPatient = [x + 1.0, y, z]
        elif change == "slice positions":
            x, y, z = (float(value) for value in image.ImagePositionPatient)
            image.ImagePositionPatient = [x, y, z + 2.5]
        elif change == "orientation":
            image.ImageOrientationPatient = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
        elif change == "frame of reference":
            image.FrameOfReferenceUID = "1.2.3.4"
        elif change == "shape":
            image.Rows = 256
    return seg, as_files(images)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("pixel spacing", "pixel spacing"),
        ("origin", "lies on no slice of the source series"),
        ("slice positions", "lies on no slice of the source series"),
        ("orientation", "orientation"),
        ("frame of reference", "frame of reference differs"),
        ("shape", "shape 128 × 128 ≠ 256 × 128"),
    ],
)
def test_a_segmentation_that_does_not_match_its_source_series_is_refused(
    change: str, message: str
) -> None:
    seg, sources = _modified_source(change)
    with pytest.raises(GeometryMismatchError, match=re.escape(message)):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=sources)


def test_a_source_series_from_another_series_is_refused() -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    other = ct_series()
    with pytest.raises(GeometryMismatchError, match="not the source series"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(other))


def test_a_source_series_with_a_missing_slice_is_refused() -> None:
    images = ct_series(slices=4)
    masks = np.zeros((4, 128, 128, 2), dtype=bool)
    masks[:, 24:104, 24:104, 0] = True
    masks[1, 54:74, 54:74, 1] = True
    seg = build_seg(images, masks)
    with pytest.raises(InvalidGeometryError, match="irregular slice spacing"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files([images[0], *images[2:]]))


def test_a_source_series_mixing_two_series_is_refused() -> None:
    images = ct_series()
    seg = build_seg(images, acceptance_masks())
    stranger = ct_series()[1]
    with pytest.raises(GeometryMismatchError, match="not one series"):
        dicom_seg_volumes(
            seg, LUNG_AND_LESION, source_images=as_files([images[0], stranger, images[2]])
        )


def test_a_segmentation_with_uneven_gaps_between_frames_needs_its_source_series() -> None:
    images = ct_series(slices=4)
    masks = np.zeros((4, 128, 128, 2), dtype=bool)
    masks[[0, 1, 3], 24:104, 24:104, 0] = True  # nothing on slice 2: its frames are omitted
    masks[1, 54:74, 54:74, 1] = True
    seg = build_seg(images, masks)
    with pytest.raises(InvalidGeometryError, match="irregular slice spacing"):
        dicom_seg_volumes(seg, LUNG_AND_LESION)
    result = dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))
    assert result.voxels is not None
    assert result.voxels.lung_voxels == 3 * 6400
    assert result.voxels.spacing_mm[2] == pytest.approx(5.0)


def test_evenly_omitted_frames_are_caught_by_spacing_between_slices() -> None:
    images = ct_series()
    masks = acceptance_masks()
    masks[1] = False  # frames on slices 0 and 2 only: 10 mm apart, as if regularly spaced
    masks[0, 54:74, 54:74, 1] = True
    seg = build_seg(images, masks)
    with pytest.raises(InvalidGeometryError, match="SpacingBetweenSlices is 5 mm"):
        dicom_seg_volumes(seg, LUNG_AND_LESION)
    result = dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))
    assert result.voxels is not None
    assert result.voxels.spacing_mm[2] == pytest.approx(5.0)


def _without_spacing_between_slices(seg: bytes) -> bytes:
    dataset = pydicom.dcmread(io.BytesIO(seg))
    del dataset.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def test_spacing_from_the_segmentations_own_frames_alone_is_noted() -> None:
    seg = _without_spacing_between_slices(build_seg(ct_series(), acceptance_masks()))
    result = dicom_seg_volumes(seg, LUNG_AND_LESION)
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.voxels is not None
    assert any("nor SpacingBetweenSlices to confirm it" in note for note in result.voxels.notes)


def test_a_single_slice_segmentation_needs_its_source_series() -> None:
    images = ct_series()
    masks = np.zeros((3, 128, 128, 2), dtype=bool)
    masks[1, 24:104, 24:104, 0] = True
    masks[1, 54:74, 54:74, 1] = True
    seg = build_seg(images, masks)
    with pytest.raises(InvalidGeometryError, match="single slice position"):
        dicom_seg_volumes(seg, LUNG_AND_LESION)
    result = dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))
    assert result.lung_ml == pytest.approx(6400 * VOXEL_MM3 / 1000)


@pytest.mark.parametrize(
    "content",
    [
        b"not a DICOM file at all" * 10,
        b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00" * 8,
    ],
)
def test_corrupt_segmentation_files_are_refused(content: bytes) -> None:
    with pytest.raises(UnreadableFileError, match="not a readable DICOM-SEG"):
        dicom_seg_volumes(content, LUNG_AND_LESION)


def test_a_ct_image_is_not_a_segmentation() -> None:
    with pytest.raises(UnreadableFileError, match="not a readable DICOM-SEG"):
        dicom_seg_volumes(as_files(ct_series(slices=1))[0], LUNG_AND_LESION)


def test_a_truncated_segmentation_is_refused() -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    with pytest.raises(UnreadableFileError):
        dicom_seg_volumes(seg[: len(seg) - 3000], LUNG_AND_LESION)


def test_a_corrupt_source_image_is_refused() -> None:
    images = ct_series()
    seg = build_seg(images, acceptance_masks())
    sources = as_files(images)
    sources[1] = b"garbage" * 50
    with pytest.raises(UnreadableFileError, match="source image 2"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=sources)


def test_a_segmentation_frame_without_a_position_is_refused() -> None:
    dataset = pydicom.dcmread(io.BytesIO(build_seg(ct_series(), acceptance_masks())))
    del dataset.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    # (0020,9113) is the Plane Position Sequence
    with pytest.raises(UnreadableFileError, match=re.escape("KeyError: (0020,9113)")):
        dicom_seg_volumes(buffer.getvalue(), LUNG_AND_LESION)


def test_a_source_series_with_malformed_pixel_spacing_is_refused() -> None:
    images = ct_series()
    seg = build_seg(images, acceptance_masks())
    for image in images:
        image.PixelSpacing = [PIXEL_SPACING_MM]
    with pytest.raises(UnreadableFileError, match="malformed geometry attributes"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=as_files(images))


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="cannot be read"):
        dicom_seg_volumes(tmp_path / "absent.dcm", LUNG_AND_LESION)


def test_a_segmentation_larger_than_the_limit_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    path = tmp_path / "seg.dcm"
    path.write_bytes(seg)
    limits = ReadLimits(max_file_bytes=len(seg) - 1)
    with pytest.raises(FileTooLargeError, match=f"{len(seg)} bytes"):
        dicom_seg_volumes(path, LUNG_AND_LESION, limits=limits)
    with pytest.raises(FileTooLargeError):
        dicom_seg_volumes(seg, LUNG_AND_LESION, limits=limits)


def test_a_source_image_larger_than_the_limit_is_refused() -> None:
    images = ct_series()
    seg = build_seg(images, acceptance_masks())
    sources = as_files(images)
    limits = ReadLimits(max_file_bytes=max(len(seg), max(map(len, sources)) - 1))
    assert len(seg) <= limits.max_file_bytes
    with pytest.raises(FileTooLargeError, match="source image"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, source_images=sources, limits=limits)


def test_a_segmentation_declaring_more_voxels_than_the_limit_is_refused() -> None:
    seg = build_seg(ct_series(), acceptance_masks())
    with pytest.raises(FileTooLargeError, match="voxels"):
        dicom_seg_volumes(seg, LUNG_AND_LESION, limits=ReadLimits(max_voxels=128 * 128 * 3))


def test_pydicoms_liver_segmentation_is_refused_as_internally_inconsistent() -> None:
    # liver_1frame.dcm has pixel data for one frame and no NumberOfFrames, but three per-frame
    # functional group items: which position belongs to the frame is a guess.
    path = get_testdata_file("liver_1frame.dcm", download=False)
    assert path is not None
    selection = SegmentSelection(lung=frozenset({1}), lesion=frozenset({2}))
    with pytest.raises(UnreadableFileError, match="3 per-frame functional group item"):
        dicom_seg_volumes(Path(path), selection)
