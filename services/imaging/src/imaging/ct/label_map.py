"""NIfTI label maps: lung and lesion volumes by counting integer labels, without float copies.

A label map holds one integer per voxel. Which labels are lung, which are lesion, and which other
structures may appear (airways, vessels) is configuration, declared in `LabelMapLabels`; every
non-zero label in the data must be declared, so that a mistyped label number cannot silently
turn a lesion into "other". A declared label that does not occur is not an error (a lesion
that has resolved has no voxels) and is reported in the notes.

Voxel volume: |det(affine[:3, :3])| in mm³ (OUTCOMES.md §5.1), after converting the header's
spatial unit to millimetres. The labels are counted slab by slab on the integer array as stored
(memory-mapped for an uncompressed .nii file), so no floating-point copy of the volume is made.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from imaging.ct.errors import (
    InvalidGeometryError,
    NonIntegerLabelError,
    UnknownLabelError,
    UnreadableFileError,
)
from imaging.ct.file_limits import (
    DEFAULT_READ_LIMITS,
    FileSource,
    ReadLimits,
    check_voxel_count,
    checked_file_size,
)
from imaging.ct.geometry import (
    DEFAULT_TOLERANCE,
    GeometryTolerance,
    GridGeometry,
    grid_from_affine,
    require_same_grid,
)
from imaging.ct.volumetry import (
    LungLesionVolumes,
    VolumeSource,
    VoxelCounts,
    from_voxel_counts,
)

# Voxels counted per slab: bounds the temporary integer copy np.bincount makes (8 bytes a voxel).
_SLAB_VOXELS: Final = 1 << 22
_GZIP_MAGIC: Final = b"\x1f\x8b"
_NIFTI1_HEADER_BYTES: Final = 348
_NIFTI2_HEADER_BYTES: Final = 540
_MM_PER_SPATIAL_UNIT: Final = {"mm": 1.0, "meter": 1000.0, "micron": 0.001}
# What nibabel, numpy and the decompressors raise on corrupt or truncated files.
_READ_ERRORS: Final = (ImageFileError, OSError, EOFError, ValueError, zlib.error)


@dataclass(frozen=True)
class LabelMapLabels:
    """Which label values are lung, which are lesion, and which others may occur."""

    lung: frozenset[int]
    lesion: frozenset[int]
    other: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.lung:
            raise UnknownLabelError("at least one lung label is needed")
        if not self.lesion:
            raise UnknownLabelError("at least one lesion label is needed")
        roles = {"lung": self.lung, "lesion": self.lesion, "other": self.other}
        for role, values in roles.items():
            if 0 in values:
                raise UnknownLabelError(f"label 0 is background; it cannot be a {role} label")
        for first, second in (("lung", "lesion"), ("lung", "other"), ("lesion", "other")):
            shared = roles[first] & roles[second]
            if shared:
                raise UnknownLabelError(
                    f"label(s) {sorted(shared)} declared both {first} and {second}"
                )

    @property
    def declared(self) -> frozenset[int]:
        return self.lung | self.lesion | self.other


def label_map_volumes(
    label_map: FileSource,
    labels: LabelMapLabels,
    *,
    reference_image: FileSource | None = None,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
    tolerance: GeometryTolerance = DEFAULT_TOLERANCE,
) -> LungLesionVolumes:
    """Lung and lesion volumes of a NIfTI label map (.nii or .nii.gz, NIfTI-1 or NIfTI-2).

    With `reference_image` (the CT the labels were drawn on, as NIfTI), the label map must lie
    on the same grid: shape, spacing, orientation and origin within `tolerance`.
    """
    image = _open_nifti(label_map, limits, "label map")
    grid, voxel_volume_mm3, notes = _geometry(image, "label map")
    if reference_image is not None:
        reference = _open_nifti(reference_image, limits, "reference image")
        reference_grid, _, _ = _geometry(reference, "reference image")
        require_same_grid(
            grid, reference_grid, tolerance, mask_name="label map", image_name="reference image"
        )
    data = _integer_labels(image)
    return volumes_from_label_array(
        data,
        labels,
        voxel_volume_mm3=voxel_volume_mm3,
        spacing_mm=grid.spacing_mm,
        notes=notes,
    )


def volumes_from_label_array(
    data: np.ndarray,
    labels: LabelMapLabels,
    *,
    voxel_volume_mm3: float,
    spacing_mm: tuple[float, float, float],
    notes: tuple[str, ...] = (),
) -> LungLesionVolumes:
    """Lung and lesion volumes of a label array already in memory (or memory-mapped)."""
    counts = count_labels(data)
    _check_labels(labels, counts, data.dtype)
    lung_label_voxels = sum(counts.get(label, 0) for label in labels.lung)
    lesion_voxels = sum(counts.get(label, 0) for label in labels.lesion)
    absent = sorted(label for label in labels.lung | labels.lesion if label not in counts)
    if absent:
        notes = (*notes, f"declared label(s) {absent} do not occur in the label map")
    # OUTCOMES.md §5.1: a lesion label replaces the lung label of its voxel, so the lung mask
    # of a label map is the lung labels and the lesion labels together.
    voxel_counts = VoxelCounts(
        lung_mask_voxels=lung_label_voxels + lesion_voxels,
        lesion_mask_voxels=lesion_voxels,
        lesion_inside_lung_mask_voxels=lesion_voxels,
    )
    return from_voxel_counts(
        voxel_counts,
        source=VolumeSource.NIFTI_LABEL_MAP,
        voxel_volume_mm3=voxel_volume_mm3,
        spacing_mm=spacing_mm,
        slice_spacing_source="NIfTI affine",
        notes=notes,
    )


def count_labels(data: np.ndarray) -> dict[int, int]:
    """How many voxels carry each label value that occurs (zero counts left out).

    Counts slab by slab along the array's slowest axis, so that each slab is contiguous and the
    temporary copy stays small; 8- and 16-bit labels are counted with np.bincount on an unsigned
    view, wider ones with np.unique.
    """
    if data.dtype.kind not in "iu":
        raise NonIntegerLabelError(f"label data must be integers, got {data.dtype}")
    if data.dtype.itemsize <= 2:
        bits = 8 * data.dtype.itemsize
        unsigned = data.view(np.dtype(f"u{data.dtype.itemsize}"))
        totals = np.zeros(1 << bits, dtype=np.int64)
        for slab in _slabs(unsigned):
            totals += np.bincount(slab.ravel(order="K"), minlength=1 << bits)
        present = np.flatnonzero(totals)
        values = present.astype(np.int64)
        if data.dtype.kind == "i":
            values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
        return {
            int(value): int(totals[index]) for value, index in zip(values, present, strict=True)
        }
    counts: dict[int, int] = {}
    for slab in _slabs(data):
        values, occurrences = np.unique(slab, return_counts=True)
        for value, occurrence in zip(values.tolist(), occurrences.tolist(), strict=True):
            counts[value] = counts.get(value, 0) + occurrence
    return counts


def _slabs(data: np.ndarray) -> Iterator[np.ndarray]:
    if data.size == 0:
        return
    axis = int(np.argmax(np.abs(data.strides))) if data.ndim else 0
    per_index = data.size // data.shape[axis]
    step = max(1, _SLAB_VOXELS // max(per_index, 1))
    for start in range(0, data.shape[axis], step):
        index = [slice(None)] * data.ndim
        index[axis] = slice(start, start + step)
        yield data[tuple(index)]


def _check_labels(labels: LabelMapLabels, counts: dict[int, int], dtype: np.dtype[Any]) -> None:
    limits = np.iinfo(dtype)
    impossible = sorted(label for label in labels.declared if not limits.min <= label <= limits.max)
    if impossible:
        raise UnknownLabelError(
            f"label(s) {impossible} cannot occur in {dtype} data ({limits.min}..{limits.max})"
        )
    undeclared = sorted(label for label in counts if label != 0 and label not in labels.declared)
    if undeclared:
        shown = ", ".join(f"{label} ({counts[label]} voxels)" for label in undeclared)
        raise UnknownLabelError(
            f"the label map holds label(s) {shown} declared neither lung, lesion nor other"
        )


def _open_nifti(source: FileSource, limits: ReadLimits, what: str) -> Any:
    checked_file_size(source, limits, what)
    try:
        image = nib.load(source) if isinstance(source, Path) else _nifti_from_bytes(source)
    except _READ_ERRORS as error:
        raise UnreadableFileError(f"{what} is not a readable NIfTI file: {error}") from error
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise UnreadableFileError(
            f"{what} is a {type(image).__name__}, not a single-file NIfTI-1 or NIfTI-2 image"
        )
    check_voxel_count(tuple(image.shape), limits, what)
    return image


def _nifti_from_bytes(content: bytes) -> Any:
    stream: io.BufferedIOBase = io.BytesIO(content)
    if content.startswith(_GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    first = stream.read(4)
    stream.seek(0)
    header_bytes = {int.from_bytes(first, "little"), int.from_bytes(first, "big")}
    if _NIFTI1_HEADER_BYTES in header_bytes:
        return nib.Nifti1Image.from_stream(stream)
    if _NIFTI2_HEADER_BYTES in header_bytes:
        return nib.Nifti2Image.from_stream(stream)
    raise ImageFileError("the content does not start with a NIfTI-1 or NIfTI-2 header")


def _geometry(image: Any, what: str) -> tuple[GridGeometry, float, tuple[str, ...]]:
    """The image's grid in millimetres, its voxel volume in mm³, and notes on how they were read."""
    notes: list[str] = []
    shape = tuple(int(extent) for extent in image.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise InvalidGeometryError(f"{what} must be a 3-D volume, got shape {shape}")
    spatial_unit = image.header.get_xyzt_units()[0]
    if spatial_unit == "unknown":
        scale = 1.0
        notes.append(f"{what}: spatial unit not set in the NIfTI header; millimetres assumed")
    elif spatial_unit in _MM_PER_SPATIAL_UNIT:
        scale = _MM_PER_SPATIAL_UNIT[spatial_unit]
    else:
        raise InvalidGeometryError(f"{what} has spatial unit {spatial_unit!r}")
    if int(image.header["sform_code"]) == 0 and int(image.header["qform_code"]) == 0:
        notes.append(f"{what}: neither sform nor qform is set; geometry from pixdim alone")
    affine = np.array(image.affine, dtype=np.float64)
    affine[:3, :] *= scale
    grid = grid_from_affine(shape, affine)
    voxel_volume = abs(float(np.linalg.det(affine[:3, :3])))
    return grid, voxel_volume, tuple(notes)


def _integer_labels(image: Any) -> np.ndarray:
    dtype = image.get_data_dtype()
    if dtype.kind not in "iu":
        raise NonIntegerLabelError(
            f"the label map stores {dtype} data; a label map must store integers (uint8, int16, …)"
        )
    proxy = image.dataobj
    if (float(proxy.slope), float(proxy.inter)) != (1.0, 0.0):
        raise NonIntegerLabelError(
            f"the label map scales its stored integers (scl_slope {proxy.slope}, scl_inter "
            f"{proxy.inter}), so they are not label values"
        )
    try:
        data = np.asarray(proxy.get_unscaled())
    except _READ_ERRORS as error:
        raise UnreadableFileError(f"the label map's voxel data cannot be read: {error}") from error
    if data.ndim == 4:
        data = data[..., 0]
    return data
