"""CT volumetry from NIfTI label maps: label counting, geometry checks, typed errors."""

from __future__ import annotations

import gzip
import re
import tracemalloc
from pathlib import Path
from typing import Any, Literal

import nibabel
import numpy as np
import pytest

from imaging.ct.errors import (
    EmptyLungError,
    FileTooLargeError,
    GeometryMismatchError,
    InvalidGeometryError,
    NonIntegerLabelError,
    UnknownLabelError,
    UnreadableFileError,
)
from imaging.ct.file_limits import ReadLimits
from imaging.ct.label_map import (
    LabelMapLabels,
    count_labels,
    label_map_volumes,
    volumes_from_label_array,
)
from imaging.ct.volumetry import VolumeSource

# nibabel's image and header constructors carry no type annotations.
nib: Any = nibabel

SPACING = (0.661468, 0.661468, 5.0)
AFFINE = np.diag([*SPACING, 1.0])
LUNG_1_LESION_2 = LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2}))


def acceptance_labels(dtype: Any = np.uint8) -> np.ndarray:
    """The OUTCOMES.md §5.3 geometry: lung 80 × 80 × 3 with a 20 × 20 lesion on the middle slice."""
    labels = np.zeros((128, 128, 3), dtype=dtype)
    labels[24:104, 24:104, :] = 1
    labels[54:74, 54:74, 1] = 2
    return labels


def nifti_file(
    tmp_path: Path,
    data: np.ndarray,
    affine: np.ndarray = AFFINE,
    *,
    name: str = "labels.nii.gz",
    unit: str | None = "mm",
) -> Path:
    image = nib.Nifti1Image(data, affine, dtype=data.dtype)
    if unit is not None:
        image.header.set_xyzt_units(xyz=unit)
    path = tmp_path / name
    image.to_filename(path)
    return path


def test_the_acceptance_geometry_gives_lung_42_0038_lesion_0_8751_p_0_020833(
    tmp_path: Path,
) -> None:
    result = label_map_volumes(nifti_file(tmp_path, acceptance_labels()), LUNG_1_LESION_2)
    assert result.source is VolumeSource.NIFTI_LABEL_MAP
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_ml == pytest.approx(0.8751, abs=1e-4)
    assert result.lesion_fraction == pytest.approx(0.020833, abs=1e-4)
    assert result.voxels is not None
    # A lesion label replaces the lung label of its voxel: the lung is both labels together.
    assert result.voxels.counts.lung_mask_voxels == 19_200
    assert result.voxels.lung_voxels == 19_200
    assert result.voxels.lesion_voxels == 400
    assert result.voxels.lesion_outside_lung_mask_voxels == 0
    assert result.voxels.slice_spacing_source == "NIfTI affine"


def test_a_label_array_in_memory_gives_the_acceptance_numbers() -> None:
    result = volumes_from_label_array(
        acceptance_labels(),
        LUNG_1_LESION_2,
        voxel_volume_mm3=SPACING[0] * SPACING[1] * SPACING[2],
        spacing_mm=SPACING,
    )
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.lesion_ml == pytest.approx(0.8751, abs=1e-4)


@pytest.mark.parametrize("name", ["labels.nii", "labels.nii.gz"])
def test_paths_and_uploaded_bytes_give_the_same_result(tmp_path: Path, name: str) -> None:
    path = nifti_file(tmp_path, acceptance_labels(), name=name)
    from_path = label_map_volumes(path, LUNG_1_LESION_2)
    from_bytes = label_map_volumes(path.read_bytes(), LUNG_1_LESION_2)
    assert from_bytes == from_path


def test_nifti_2_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "labels.nii"
    image = nib.Nifti2Image(acceptance_labels(), AFFINE)
    image.header.set_xyzt_units(xyz="mm")
    image.to_filename(path)
    for source in (path, path.read_bytes()):
        assert label_map_volumes(source, LUNG_1_LESION_2).lung_ml == pytest.approx(
            42.0038, abs=1e-4
        )


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64]
)
def test_every_integer_storage_type_counts_the_same(tmp_path: Path, dtype: Any) -> None:
    result = label_map_volumes(nifti_file(tmp_path, acceptance_labels(dtype)), LUNG_1_LESION_2)
    assert result.voxels is not None
    assert (result.voxels.lung_voxels, result.voxels.lesion_voxels) == (19_200, 400)


def test_several_lung_and_lesion_labels_add_up(tmp_path: Path) -> None:
    labels = acceptance_labels()
    labels[24:64, 24:104, :][labels[24:64, 24:104, :] == 1] = 3  # right lung 1, left lung 3
    labels[30:35, 30:35, 0] = 4  # a second lesion label
    result = label_map_volumes(
        nifti_file(tmp_path, labels),
        LabelMapLabels(lung=frozenset({1, 3}), lesion=frozenset({2, 4})),
    )
    assert result.voxels is not None
    assert result.voxels.lung_voxels == 19_200
    assert result.voxels.lesion_voxels == 425


def test_declared_other_structures_are_neither_lung_nor_lesion(tmp_path: Path) -> None:
    labels = acceptance_labels()
    labels[0:10, 0:10, :] = 7  # airway, outside the lung
    result = label_map_volumes(
        nifti_file(tmp_path, labels),
        LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2}), other=frozenset({7})),
    )
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_an_undeclared_label_in_the_data_is_refused(tmp_path: Path) -> None:
    labels = acceptance_labels()
    labels[0:10, 0:10, 0] = 7
    with pytest.raises(UnknownLabelError, match=re.escape("label(s) 7 (100 voxels)")):
        label_map_volumes(nifti_file(tmp_path, labels), LUNG_1_LESION_2)


def test_a_mistyped_lesion_label_is_caught_not_counted_as_zero(tmp_path: Path) -> None:
    with pytest.raises(UnknownLabelError, match=re.escape("label(s) 2 (400 voxels)")):
        label_map_volumes(
            nifti_file(tmp_path, acceptance_labels()),
            LabelMapLabels(lung=frozenset({1}), lesion=frozenset({3})),
        )


def test_a_label_the_storage_type_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownLabelError, match=re.escape("label(s) [300] cannot occur in uint8")):
        label_map_volumes(
            nifti_file(tmp_path, acceptance_labels()),
            LabelMapLabels(lung=frozenset({1}), lesion=frozenset({2, 300})),
        )


@pytest.mark.parametrize(
    ("lung", "lesion", "other", "message"),
    [
        (set(), {2}, set(), "at least one lung label"),
        ({1}, set(), set(), "at least one lesion label"),
        ({1, 2}, {2}, set(), "declared both lung and lesion"),
        ({1}, {2}, {2}, "declared both lesion and other"),
        ({0, 1}, {2}, set(), "label 0 is background"),
    ],
)
def test_label_declarations_must_be_coherent(
    lung: set[int], lesion: set[int], other: set[int], message: str
) -> None:
    with pytest.raises(UnknownLabelError, match=message):
        LabelMapLabels(lung=frozenset(lung), lesion=frozenset(lesion), other=frozenset(other))


def test_a_resolved_lesion_gives_p_zero_and_a_note(tmp_path: Path) -> None:
    labels = acceptance_labels()
    labels[labels == 2] = 1
    result = label_map_volumes(nifti_file(tmp_path, labels), LUNG_1_LESION_2)
    assert result.lesion_ml == 0.0
    assert result.lesion_fraction == 0.0
    assert result.voxels is not None
    assert "declared label(s) [2] do not occur in the label map" in result.voxels.notes


def test_an_empty_lung_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmptyLungError):
        label_map_volumes(
            nifti_file(tmp_path, np.zeros((8, 8, 3), dtype=np.uint8)), LUNG_1_LESION_2
        )


def test_floating_point_label_data_is_refused(tmp_path: Path) -> None:
    path = nifti_file(tmp_path, acceptance_labels().astype(np.float32))
    with pytest.raises(NonIntegerLabelError, match="stores float32 data"):
        label_map_volumes(path, LUNG_1_LESION_2)


def test_scaled_integer_data_is_refused(tmp_path: Path) -> None:
    image = nib.Nifti1Image(acceptance_labels(np.int16), AFFINE)
    image.header.set_slope_inter(2.0, 0.0)
    path = tmp_path / "scaled.nii"
    image.to_filename(path)
    with pytest.raises(NonIntegerLabelError, match="scales its stored integers"):
        label_map_volumes(path, LUNG_1_LESION_2)


def test_count_labels_refuses_floating_point_arrays() -> None:
    with pytest.raises(NonIntegerLabelError):
        count_labels(np.zeros((2, 2, 2), dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_count_labels_matches_numpy_unique(dtype: Any, order: Literal["C", "F"]) -> None:
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    values = np.array([0, 1, 2, info.max, info.min, 42], dtype=dtype)
    data = np.asarray(rng.choice(values, size=(30, 20, 40)), order=order)
    expected = dict(zip(*np.unique(data, return_counts=True), strict=True))
    assert count_labels(data) == {int(k): int(v) for k, v in expected.items()}


def test_reference_image_on_the_same_grid_is_accepted(tmp_path: Path) -> None:
    labels = nifti_file(tmp_path, acceptance_labels())
    # float32 header rounding of the reference's spacing is within tolerance
    ct = nifti_file(tmp_path, np.zeros((128, 128, 3), dtype=np.int16), name="ct.nii.gz")
    result = label_map_volumes(labels, LUNG_1_LESION_2, reference_image=ct)
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)


def _shifted(axis: int, millimetres: float) -> np.ndarray:
    affine = AFFINE.copy()
    affine[axis, 3] += millimetres
    return affine


@pytest.mark.parametrize(
    ("reference_shape", "reference_affine", "message"),
    [
        ((128, 128, 4), AFFINE, "shape (128, 128, 3) ≠ (128, 128, 4)"),
        ((128, 128, 3), np.diag([0.7, 0.661468, 5.0, 1.0]), "spacing of axis 0"),
        ((128, 128, 3), np.diag([0.661468, 0.661468, 2.5, 1.0]), "spacing of axis 2"),
        ((128, 128, 3), np.diag([-0.661468, 0.661468, 5.0, 1.0]), "orientation of axis 0"),
        ((128, 128, 3), _shifted(0, 0.5), "origin"),
        ((128, 128, 3), _shifted(2, -5.0), "origin"),
    ],
)
def test_a_label_map_off_its_images_grid_is_refused(
    tmp_path: Path, reference_shape: tuple[int, ...], reference_affine: np.ndarray, message: str
) -> None:
    labels = nifti_file(tmp_path, acceptance_labels())
    ct = nifti_file(
        tmp_path, np.zeros(reference_shape, dtype=np.int16), reference_affine, name="ct.nii.gz"
    )
    with pytest.raises(GeometryMismatchError, match=re.escape(message)):
        label_map_volumes(labels, LUNG_1_LESION_2, reference_image=ct)


def test_an_origin_within_tolerance_is_the_same_grid(tmp_path: Path) -> None:
    labels = nifti_file(tmp_path, acceptance_labels())
    ct = nifti_file(
        tmp_path, np.zeros((128, 128, 3), dtype=np.int16), _shifted(1, 0.005), name="ct.nii"
    )
    assert label_map_volumes(labels, LUNG_1_LESION_2, reference_image=ct).lung_ml > 0


def test_voxel_volume_is_the_affine_determinant_in_millimetres(tmp_path: Path) -> None:
    # An oblique grid: rotating the axes changes nothing; the voxel volume stays dx·dy·dz.
    angle = np.deg2rad(20)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(SPACING)
    result = label_map_volumes(nifti_file(tmp_path, acceptance_labels(), affine), LUNG_1_LESION_2)
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_a_header_in_metres_is_converted_to_millimetres(tmp_path: Path) -> None:
    affine = np.diag([s / 1000 for s in SPACING] + [1.0])
    result = label_map_volumes(
        nifti_file(tmp_path, acceptance_labels(), affine, unit="meter"), LUNG_1_LESION_2
    )
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_an_unspecified_spatial_unit_is_taken_as_millimetres_and_noted(tmp_path: Path) -> None:
    result = label_map_volumes(
        nifti_file(tmp_path, acceptance_labels(), unit=None), LUNG_1_LESION_2
    )
    assert result.lung_ml == pytest.approx(42.0038, abs=1e-4)
    assert result.voxels is not None
    assert any("millimetres assumed" in note for note in result.voxels.notes)


def test_a_single_volume_4d_file_is_a_3d_label_map(tmp_path: Path) -> None:
    path = nifti_file(tmp_path, acceptance_labels()[..., np.newaxis])
    assert label_map_volumes(path, LUNG_1_LESION_2).lung_ml == pytest.approx(42.0038, abs=1e-4)


def test_a_multi_volume_4d_file_is_refused(tmp_path: Path) -> None:
    path = nifti_file(tmp_path, np.stack([acceptance_labels()] * 2, axis=-1))
    with pytest.raises(InvalidGeometryError, match="must be a 3-D volume"):
        label_map_volumes(path, LUNG_1_LESION_2)


@pytest.mark.parametrize(
    "content",
    [
        b"definitely not NIfTI" * 30,
        gzip.compress(b"definitely not NIfTI" * 30, mtime=0),
        b"\x1f\x8b" + b"broken gzip stream" * 20,
    ],
)
def test_corrupt_uploads_are_refused(content: bytes) -> None:
    with pytest.raises(UnreadableFileError, match="not a readable NIfTI file"):
        label_map_volumes(content, LUNG_1_LESION_2)


@pytest.mark.parametrize("name", ["labels.nii", "labels.nii.gz"])
def test_truncated_files_are_refused(tmp_path: Path, name: str) -> None:
    path = nifti_file(tmp_path, acceptance_labels(np.int16), name=name)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) * 2 // 3])
    with pytest.raises(UnreadableFileError):
        label_map_volumes(path, LUNG_1_LESION_2)
    with pytest.raises(UnreadableFileError):
        label_map_volumes(path.read_bytes(), LUNG_1_LESION_2)


def test_a_file_that_is_not_nifti_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.mgz"
    nib.MGHImage(acceptance_labels(np.int32), AFFINE).to_filename(path)
    with pytest.raises(UnreadableFileError, match="not a readable NIfTI file"):
        label_map_volumes(path, LUNG_1_LESION_2)


def test_the_header_of_a_header_and_image_pair_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.hdr"
    nib.Nifti1Pair(acceptance_labels(), AFFINE).to_filename(path)
    with pytest.raises(UnreadableFileError, match="not a single-file NIfTI image"):
        label_map_volumes(path, LUNG_1_LESION_2)


def test_a_big_endian_label_map_counts_the_same(tmp_path: Path) -> None:
    header = nib.Nifti1Header(endianness=">")
    header.set_xyzt_units(xyz="mm")
    header.set_data_dtype(np.int16)
    image = nib.Nifti1Image(acceptance_labels(np.int16), AFFINE, header=header)
    path = tmp_path / "big_endian.nii.gz"
    image.to_filename(path)
    assert nib.load(path).header.endianness == ">"
    result = label_map_volumes(path, LUNG_1_LESION_2)
    assert result.voxels is not None
    assert (result.voxels.lung_voxels, result.voxels.lesion_voxels) == (19_200, 400)


def test_count_labels_reads_big_endian_arrays() -> None:
    data = acceptance_labels(np.int16).astype(">i2")
    assert count_labels(data) == {0: 128 * 128 * 3 - 19_200, 1: 18_800, 2: 400}


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="cannot be read"):
        label_map_volumes(tmp_path / "absent.nii.gz", LUNG_1_LESION_2)


def test_an_empty_upload_is_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="is empty"):
        label_map_volumes(b"", LUNG_1_LESION_2)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = nifti_file(tmp_path, acceptance_labels(), name="labels.nii")
    size = path.stat().st_size
    with pytest.raises(FileTooLargeError, match=f"{size} bytes"):
        label_map_volumes(path, LUNG_1_LESION_2, limits=ReadLimits(max_file_bytes=size - 1))


def test_a_small_compressed_file_declaring_a_huge_volume_is_refused(tmp_path: Path) -> None:
    # 1024 × 1024 × 600 zeros compress to a few hundred kB but would need 600 MB to hold.
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 600))
    header.set_data_dtype(np.uint8)
    path = tmp_path / "bomb.nii.gz"
    with gzip.open(path, "wb") as stream:
        header.write_to(stream)
        stream.write(b"\x00" * 4)  # extension flag
        stream.write(b"\x00" * (1024 * 1024 * 8))
    with pytest.raises(FileTooLargeError, match="629145600 voxels"):
        label_map_volumes(path, LUNG_1_LESION_2, limits=ReadLimits(max_voxels=512 * 512 * 1000))


@pytest.mark.slow
def test_a_512_by_512_by_300_label_map_is_counted_exactly_without_a_float_copy(
    tmp_path: Path,
) -> None:
    labels = np.zeros((512, 512, 300), dtype=np.uint8, order="F")
    labels[100:400, 120:420, 20:280] = 1
    labels[200:260, 200:260, 100:161] = 2  # ends inside a counting slab, not on its edge
    path = nifti_file(tmp_path, labels, np.diag([0.7, 0.7, 1.25, 1.0]), name="large.nii")
    del labels

    tracemalloc.start()
    try:
        result = label_map_volumes(path, LUNG_1_LESION_2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.voxels is not None
    assert result.voxels.lung_voxels == 300 * 300 * 260
    assert result.voxels.lesion_voxels == 60 * 60 * 61
    assert result.lung_ml == pytest.approx(300 * 300 * 260 * 0.7 * 0.7 * 1.25 / 1000)
    # A float64 copy of the volume alone would be 629 MB; the memory-mapped uint8 labels are
    # counted in slabs.
    assert peak < 100 * 1024**2
