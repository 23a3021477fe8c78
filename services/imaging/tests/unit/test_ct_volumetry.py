"""Lesion fraction p, its change from baseline, radiologist measurements and slice geometry."""

from __future__ import annotations

import re

import pytest

from imaging.ct.errors import (
    EmptyLungError,
    InvalidGeometryError,
    InvalidMeasurementError,
    LesionOutsideLungError,
)
from imaging.ct.geometry import DEFAULT_TOLERANCE, slice_normal, slice_stack
from imaging.ct.volumetry import (
    LesionOutsideLung,
    VolumeSource,
    VoxelCounts,
    change_from_baseline,
    from_measurements,
    from_voxel_counts,
)


def test_a_radiologists_whole_lung_volume_includes_the_lesions() -> None:
    result = from_measurements(lung_ml=4200.0, lesion_ml=210.0, lung_includes_lesion=True)
    assert result.source is VolumeSource.RADIOLOGIST_MEASUREMENT
    assert result.lung_ml == 4200.0
    assert result.lesion_fraction == pytest.approx(0.05)
    assert result.voxels is None


def test_a_lung_volume_measured_without_the_lesions_gets_them_added() -> None:
    result = from_measurements(lung_ml=3990.0, lesion_ml=210.0, lung_includes_lesion=False)
    assert result.lung_ml == 4200.0
    assert result.lesion_fraction == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("lung", "lesion", "includes", "message"),
    [
        (4.2, 0.2, True, "whole-lung volume 4.2 mL is outside the plausible range"),
        (4200.0, 4300.0, True, "exceeds the whole-lung volume"),
        (4200.0, -1.0, True, "lesion volume -1.0 mL must be"),
        (float("nan"), 1.0, True, "lung volume nan mL must be"),
        (0.0, 0.0, False, "whole-lung volume 0.0 mL"),
    ],
)
def test_impossible_measurements_are_refused(
    lung: float, lesion: float, includes: bool, message: str
) -> None:
    with pytest.raises(InvalidMeasurementError, match=re.escape(message)):
        from_measurements(lung_ml=lung, lesion_ml=lesion, lung_includes_lesion=includes)


def test_change_from_baseline_reports_absolute_and_relative_change() -> None:
    change = change_from_baseline(0.03, 0.04)
    assert change.absolute_change == pytest.approx(-0.01)
    assert change.relative_change == pytest.approx(-0.25)
    assert change.relative_change_undefined_reason is None


def test_relative_change_is_undefined_when_the_baseline_fraction_is_zero() -> None:
    change = change_from_baseline(0.02, 0.0)
    assert change.absolute_change == pytest.approx(0.02)
    assert change.relative_change is None
    assert change.relative_change_undefined_reason == "baseline lesion fraction p0 is 0"


def test_no_lesion_at_baseline_or_follow_up_is_zero_absolute_change_and_undefined_ratio() -> None:
    change = change_from_baseline(0.0, 0.0)
    assert change.absolute_change == 0.0
    assert change.relative_change is None


@pytest.mark.parametrize(("p", "p0"), [(1.2, 0.1), (0.1, -0.1), (float("nan"), 0.1)])
def test_fractions_outside_0_to_1_are_refused(p: float, p0: float) -> None:
    with pytest.raises(InvalidMeasurementError, match="not a fraction"):
        change_from_baseline(p, p0)


COUNTS_WITH_200_OUTSIDE = VoxelCounts(
    lung_mask_voxels=19_200, lesion_mask_voxels=400, lesion_inside_lung_mask_voxels=200
)


@pytest.mark.parametrize(
    ("policy", "lung_voxels", "lesion_voxels"),
    [
        (LesionOutsideLung.COUNT_AS_LUNG, 19_400, 400),
        (LesionOutsideLung.EXCLUDE, 19_200, 200),
    ],
)
def test_policy_for_lesion_voxels_outside_the_lung_mask(
    policy: LesionOutsideLung, lung_voxels: int, lesion_voxels: int
) -> None:
    result = from_voxel_counts(
        COUNTS_WITH_200_OUTSIDE,
        source=VolumeSource.DICOM_SEG,
        voxel_volume_mm3=2.0,
        spacing_mm=(1.0, 1.0, 2.0),
        slice_spacing_source="test grid",
        lesion_outside_lung=policy,
    )
    assert result.voxels is not None
    assert result.voxels.lesion_outside_lung_mask_voxels == 200
    assert result.voxels.lesion_outside_lung_mask_ml == pytest.approx(0.4)
    assert (result.voxels.lung_voxels, result.voxels.lesion_voxels) == (lung_voxels, lesion_voxels)
    assert result.lung_ml == pytest.approx(lung_voxels * 2.0 / 1000)
    assert result.lesion_ml == pytest.approx(lesion_voxels * 2.0 / 1000)


def test_the_reject_policy_refuses_lesion_outside_the_lung() -> None:
    with pytest.raises(LesionOutsideLungError, match=re.escape("200 lesion voxels (0.4000 mL)")):
        from_voxel_counts(
            COUNTS_WITH_200_OUTSIDE,
            source=VolumeSource.DICOM_SEG,
            voxel_volume_mm3=2.0,
            spacing_mm=(1.0, 1.0, 2.0),
            slice_spacing_source="test grid",
            lesion_outside_lung=LesionOutsideLung.REJECT,
        )


def test_the_reject_policy_accepts_a_lesion_inside_the_lung() -> None:
    counts = VoxelCounts(
        lung_mask_voxels=19_200, lesion_mask_voxels=400, lesion_inside_lung_mask_voxels=400
    )
    result = from_voxel_counts(
        counts,
        source=VolumeSource.DICOM_SEG,
        voxel_volume_mm3=2.0,
        spacing_mm=(1.0, 1.0, 2.0),
        slice_spacing_source="test grid",
        lesion_outside_lung=LesionOutsideLung.REJECT,
    )
    assert result.lesion_fraction == pytest.approx(400 / 19_200)


def test_a_lesion_without_lung_is_lung_when_counted_as_lung_but_empty_when_excluded() -> None:
    counts = VoxelCounts(
        lung_mask_voxels=0, lesion_mask_voxels=50, lesion_inside_lung_mask_voxels=0
    )
    kept = from_voxel_counts(
        counts,
        source=VolumeSource.DICOM_SEG,
        voxel_volume_mm3=1.0,
        spacing_mm=(1.0, 1.0, 1.0),
        slice_spacing_source="test grid",
    )
    assert kept.lesion_fraction == 1.0
    with pytest.raises(EmptyLungError):
        from_voxel_counts(
            counts,
            source=VolumeSource.DICOM_SEG,
            voxel_volume_mm3=1.0,
            spacing_mm=(1.0, 1.0, 1.0),
            slice_spacing_source="test grid",
            lesion_outside_lung=LesionOutsideLung.EXCLUDE,
        )


def test_a_non_positive_voxel_volume_is_invalid_geometry() -> None:
    with pytest.raises(InvalidGeometryError, match=re.escape("voxel volume 0.0")):
        from_voxel_counts(
            COUNTS_WITH_200_OUTSIDE,
            source=VolumeSource.DICOM_SEG,
            voxel_volume_mm3=0.0,
            spacing_mm=(1.0, 1.0, 0.0),
            slice_spacing_source="test grid",
        )


def test_the_slice_normal_is_row_cross_column() -> None:
    assert slice_normal([1, 0, 0, 0, 1, 0], DEFAULT_TOLERANCE) == pytest.approx((0, 0, 1))
    # Coronal: rows along x, columns along −z → normal along +y.
    assert slice_normal([1, 0, 0, 0, 0, -1], DEFAULT_TOLERANCE) == pytest.approx((0, 1, 0))


@pytest.mark.parametrize(
    "orientation",
    [[1, 0, 0, 1, 0, 0], [2, 0, 0, 0, 1, 0], [1, 0, 0, 0, 1], [1, 0, 0, 0.1, 1, 0]],
)
def test_an_orientation_that_is_not_two_orthogonal_unit_vectors_is_refused(
    orientation: list[float],
) -> None:
    with pytest.raises(InvalidGeometryError, match="ImageOrientationPatient"):
        slice_normal(orientation, DEFAULT_TOLERANCE)


def test_slice_spacing_is_measured_along_the_normal_and_repeats_are_one_slice() -> None:
    positions = [(0, 0, 10.0), (3, 0, 12.5), (0, 0, 10.0), (6, 0, 15.0), (9, 0, 17.5)]
    stack = slice_stack(positions, (0.0, 0.0, 1.0), DEFAULT_TOLERANCE, what="test series")
    assert stack.offsets_mm == (10.0, 12.5, 15.0, 17.5)
    assert stack.spacing_mm == pytest.approx(2.5)
    assert stack.index_of(15.004, DEFAULT_TOLERANCE) == 2
    assert stack.index_of(13.75, DEFAULT_TOLERANCE) is None


def test_irregular_slice_spacing_is_refused() -> None:
    positions = [(0, 0, 0.0), (0, 0, 2.5), (0, 0, 7.5), (0, 0, 10.0)]
    with pytest.raises(InvalidGeometryError, match="irregular slice spacing"):
        slice_stack(positions, (0.0, 0.0, 1.0), DEFAULT_TOLERANCE, what="test series")


def test_positions_rounded_to_a_hundredth_of_a_millimetre_are_still_regular() -> None:
    positions = [(0, 0, round(0.625 * index, 2)) for index in range(40)]
    stack = slice_stack(positions, (0.0, 0.0, 1.0), DEFAULT_TOLERANCE, what="test series")
    assert stack.spacing_mm == pytest.approx(0.625, abs=1e-3)
