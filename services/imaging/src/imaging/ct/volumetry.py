"""Lung and lesion volumes, the lesion fraction p, and its change from baseline.

Protocol (PROTOCOL.md, outcome table; OUTCOMES.md §5.1):
- V_lung is the whole lung, lesions included: the union of the lung and lesion masks.
- V_lesion is the union of the lesion segments (overlapping segments are counted once).
- p = V_lesion / V_lung; against baseline, p − p0 and (p − p0) / p0, the latter undefined when
  p0 = 0 (reported as None with the reason).
- Voxel volumes: mL = voxel count × voxel volume (mm³) / 1000.

Lesion voxels outside the lung mask (a lesion segment drawn past the lung segment) are handled
by an explicit policy, and always counted and reported:
- COUNT_AS_LUNG (default): they are lesion, and being lesion they are lung, as the union
  definition of V_lung says; consolidated lung that an automatic lung mask missed is the usual
  cause.
- EXCLUDE: the lesion is clipped to the lung mask; the voxels outside count as neither.
- REJECT: any such voxel is an error, for a reader who wants the segmentation fixed first.
In a label map every voxel carries one label, and a lesion label replaces the lung label of the
voxel it marks (OUTCOMES.md §5.1), so a labelled lesion is inside the lung by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Final

from imaging.ct.errors import (
    EmptyLungError,
    InvalidGeometryError,
    InvalidMeasurementError,
    LesionOutsideLungError,
)

MM3_PER_ML: Final = 1000.0

# Plausibility limits for a radiologist's whole-lung volume: they catch litres entered as mL.
# They apply to typed-in measurements only; voxel counts are what they are.
_MEASURED_LUNG_RANGE_ML: Final = (100.0, 15000.0)


class VolumeSource(Enum):
    RADIOLOGIST_MEASUREMENT = "radiologist_measurement"
    NIFTI_LABEL_MAP = "nifti_label_map"
    DICOM_SEG = "dicom_seg"


class LesionOutsideLung(Enum):
    """What lesion voxels outside the lung mask count as; see the module docstring."""

    COUNT_AS_LUNG = "count_as_lung"
    EXCLUDE = "exclude"
    REJECT = "reject"


@dataclass(frozen=True)
class VoxelCounts:
    """Voxel counts of the masks as segmented, before any policy is applied."""

    lung_mask_voxels: int
    """Voxels in the lung mask (the union of the lung segments or labels)."""
    lesion_mask_voxels: int
    """Voxels in the lesion mask (the union of the lesion segments or labels)."""
    lesion_inside_lung_mask_voxels: int
    """Voxels in both masks."""

    @property
    def lesion_outside_lung_mask_voxels(self) -> int:
        return self.lesion_mask_voxels - self.lesion_inside_lung_mask_voxels


@dataclass(frozen=True)
class SegmentUsed:
    """A segment (DICOM-SEG) or label (label map) counted as lung or lesion, and why."""

    role: str
    """lung or lesion"""
    number: int
    """The segment number, or the label value of a label map."""
    label: str
    """The segment label or label name the file gives; empty when it gives none."""
    code: str | None
    """The coded meaning, e.g. 'SCT 39607008 Lung'; None when the file codes none."""
    chosen_by: str
    """'coded meaning', 'label name' or 'request' (numbers the caller gave)."""


@dataclass(frozen=True)
class VoxelVolumetry:
    """How a voxel-based result was obtained, for the record and for review."""

    counts: VoxelCounts
    lesion_outside_lung: LesionOutsideLung
    lung_voxels: int
    lesion_voxels: int
    voxel_volume_mm3: float
    spacing_mm: tuple[float, float, float]
    slice_spacing_source: str
    notes: tuple[str, ...]
    segments: tuple[SegmentUsed, ...] = ()
    """The segments or labels counted, lung first; empty for explicitly numbered labels."""

    @property
    def lesion_outside_lung_mask_voxels(self) -> int:
        return self.counts.lesion_outside_lung_mask_voxels

    @property
    def lesion_outside_lung_mask_ml(self) -> float:
        return self.counts.lesion_outside_lung_mask_voxels * self.voxel_volume_mm3 / MM3_PER_ML


@dataclass(frozen=True)
class LungLesionVolumes:
    """Whole-lung and lesion volumes of one CT, and the lesion fraction p."""

    source: VolumeSource
    lung_ml: float
    lesion_ml: float
    voxels: VoxelVolumetry | None
    """None for a radiologist's measurement."""

    @property
    def lesion_fraction(self) -> float:
        """p = V_lesion / V_lung, a fraction between 0 and 1."""
        return self.lesion_ml / self.lung_ml


@dataclass(frozen=True)
class LesionFractionChange:
    """p against its baseline p0."""

    p: float
    p0: float
    absolute_change: float
    """p − p0."""
    relative_change: float | None
    """(p − p0) / p0; None when p0 = 0."""
    relative_change_undefined_reason: str | None


def from_measurements(
    *, lung_ml: float, lesion_ml: float, lung_includes_lesion: bool
) -> LungLesionVolumes:
    """Volumes a radiologist measured. `lung_includes_lesion` says whether the lung volume given
    is the whole lung (lesions included, the protocol's V_lung) or the lung outside the lesions,
    to which the lesion volume is then added."""
    for name, value in (("lung volume", lung_ml), ("lesion volume", lesion_ml)):
        if not math.isfinite(value) or value < 0:
            raise InvalidMeasurementError(
                f"{name} {value} mL must be a finite, non-negative number"
            )
    whole_lung = lung_ml if lung_includes_lesion else lung_ml + lesion_ml
    low, high = _MEASURED_LUNG_RANGE_ML
    if not low <= whole_lung <= high:
        raise InvalidMeasurementError(
            f"whole-lung volume {whole_lung} mL is outside the plausible range "
            f"{low:g}-{high:g} mL; volumes are entered in mL"
        )
    if lesion_ml > whole_lung:
        raise InvalidMeasurementError(
            f"lesion volume {lesion_ml} mL exceeds the whole-lung volume {whole_lung} mL"
        )
    return LungLesionVolumes(
        source=VolumeSource.RADIOLOGIST_MEASUREMENT,
        lung_ml=whole_lung,
        lesion_ml=lesion_ml,
        voxels=None,
    )


def from_voxel_counts(
    counts: VoxelCounts,
    *,
    source: VolumeSource,
    voxel_volume_mm3: float,
    spacing_mm: tuple[float, float, float],
    slice_spacing_source: str,
    lesion_outside_lung: LesionOutsideLung = LesionOutsideLung.COUNT_AS_LUNG,
    notes: tuple[str, ...] = (),
    segments: tuple[SegmentUsed, ...] = (),
) -> LungLesionVolumes:
    """Volumes from voxel counts, applying the policy for lesion voxels outside the lung mask."""
    if not math.isfinite(voxel_volume_mm3) or voxel_volume_mm3 <= 0:
        raise InvalidGeometryError(f"voxel volume {voxel_volume_mm3} mm³ is not positive")
    outside = counts.lesion_outside_lung_mask_voxels
    match lesion_outside_lung:
        case LesionOutsideLung.COUNT_AS_LUNG:
            lung_voxels = counts.lung_mask_voxels + outside
            lesion_voxels = counts.lesion_mask_voxels
        case LesionOutsideLung.EXCLUDE:
            lung_voxels = counts.lung_mask_voxels
            lesion_voxels = counts.lesion_inside_lung_mask_voxels
        case LesionOutsideLung.REJECT:
            if outside:
                raise LesionOutsideLungError(
                    f"{outside} lesion voxels ({outside * voxel_volume_mm3 / MM3_PER_ML:.4f} mL) "
                    "lie outside the lung mask"
                )
            lung_voxels = counts.lung_mask_voxels
            lesion_voxels = counts.lesion_mask_voxels
    if lung_voxels == 0:
        raise EmptyLungError("the lung mask and the lesion mask are both empty")
    return LungLesionVolumes(
        source=source,
        lung_ml=lung_voxels * voxel_volume_mm3 / MM3_PER_ML,
        lesion_ml=lesion_voxels * voxel_volume_mm3 / MM3_PER_ML,
        voxels=VoxelVolumetry(
            counts=counts,
            lesion_outside_lung=lesion_outside_lung,
            lung_voxels=lung_voxels,
            lesion_voxels=lesion_voxels,
            voxel_volume_mm3=voxel_volume_mm3,
            spacing_mm=spacing_mm,
            slice_spacing_source=slice_spacing_source,
            notes=notes,
            segments=segments,
        ),
    )


def change_from_baseline(p: float, p0: float) -> LesionFractionChange:
    """p − p0 and (p − p0) / p0, the latter undefined when p0 = 0 (PROTOCOL.md outcome table)."""
    for name, value in (("p", p), ("p0", p0)):
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise InvalidMeasurementError(f"{name} = {value} is not a fraction between 0 and 1")
    if p0 == 0:
        return LesionFractionChange(
            p=p,
            p0=p0,
            absolute_change=p - p0,
            relative_change=None,
            relative_change_undefined_reason="baseline lesion fraction p0 is 0",
        )
    return LesionFractionChange(
        p=p,
        p0=p0,
        absolute_change=p - p0,
        relative_change=(p - p0) / p0,
        relative_change_undefined_reason=None,
    )
