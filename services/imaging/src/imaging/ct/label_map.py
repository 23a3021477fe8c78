"""NIfTI label maps: lung and lesion volumes by counting integer labels, without float copies.

A label map holds one integer per voxel. Which labels are lung, which are lesion, and which other
structures may appear (airways, vessels) is configuration, declared in `LabelMapLabels`; every
non-zero label in the data must be declared, so that a mistyped label number cannot silently
turn a lesion into "other". A declared label that does not occur is not an error (a lesion
that has resolved has no voxels) and is reported in the notes.

Voxel volume: |det(affine[:3, :3])| in mm³ (OUTCOMES.md §5.1), after converting the header's
spatial unit to millimetres; the affine is the one nibabel chooses (sform, else qform, else
pixdim). nibabel parses the header only; the voxel data is then streamed from the file, plain
or gzip-compressed, and its labels counted chunk by chunk on the integers as stored, so memory
stays at one chunk whatever the volume's size and no floating-point copy is ever made.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import nibabel as nib
import numpy as np
from nibabel.spatialimages import HeaderDataError

from imaging.ct.errors import (
    InvalidGeometryError,
    NonIntegerLabelError,
    UnknownLabelError,
    UnreadableFileError,
    listed,
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
from imaging.ct.label_names import LabelNames, LabelRoles, from_header_extensions, roles_of
from imaging.ct.volumetry import (
    LungLesionVolumes,
    VolumeSource,
    VoxelCounts,
    from_voxel_counts,
)

# Voxels counted at a time: bounds the temporary integer copy np.bincount makes (8 bytes a voxel).
_CHUNK_VOXELS: Final = 1 << 22
_GZIP_MAGIC: Final = b"\x1f\x8b"
# nibabel's header classes carry no type annotations on from_fileobj.
_HEADER_CLASSES: Final[dict[int, Any]] = {348: nib.Nifti1Header, 540: nib.Nifti2Header}
# Single-file NIfTI; "ni1" / "ni2" are header-and-image pairs, which an upload cannot be.
_SINGLE_FILE_MAGIC: Final = (b"n+1", b"n+2")
_MM_PER_SPATIAL_UNIT: Final = {"mm": 1.0, "meter": 1000.0, "micron": 0.001}
# What nibabel and the decompressors raise on corrupt or truncated files.
_READ_ERRORS: Final = (HeaderDataError, OSError, EOFError, ValueError, zlib.error)
# More distinct values than any segmentation tool labels (TotalSegmentator's largest task has
# 117): the data is an image's intensities, most likely the CT itself.
_MAX_PLAUSIBLE_LABELS: Final = 1000


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

    @property
    def roles(self) -> LabelRoles:
        return LabelRoles(lung=self.lung, lesion=self.lesion, other=self.other)


def label_map_volumes(
    label_map: FileSource,
    labels: LabelMapLabels | None = None,
    *,
    sidecar: LabelNames | None = None,
    reference_image: FileSource | None = None,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
    tolerance: GeometryTolerance = DEFAULT_TOLERANCE,
) -> LungLesionVolumes:
    """Lung and lesion volumes of a NIfTI label map (NIfTI-1 or NIfTI-2, plain or gzipped).

    Without `labels`, the lung and lesion labels are found by name (label_names): in `sidecar`
    when given, else in the label table of the file's own header; a label map that names its
    lung and no lesion measures a lesion volume of 0. With `reference_image` (the CT the labels
    were drawn on, as NIfTI), the label map must lie on the same grid: shape, spacing,
    orientation and origin within `tolerance`.
    """
    checked_file_size(label_map, limits, "label map")
    with _nifti_stream(label_map, "label map") as stream:
        header = _read_header(stream, "label map")
        check_voxel_count(tuple(header.get_data_shape()), limits, "label map")
        grid, voxel_volume_mm3, notes = _geometry(header, "label map")
        roles, named_by = _roles(labels, sidecar, header)
        if named_by is not None:
            notes = (*notes, f"labels named by {named_by}")
        if reference_image is not None:
            checked_file_size(reference_image, limits, "reference image")
            with _nifti_stream(reference_image, "reference image") as reference_stream:
                reference_header = _read_header(reference_stream, "reference image")
            reference_grid, _, _ = _geometry(reference_header, "reference image")
            require_same_grid(
                grid, reference_grid, tolerance, mask_name="label map", image_name="reference image"
            )
        dtype = _label_dtype(header)
        counts = _count_streamed_labels(stream, header, dtype)
    return _volumes_from_counts(
        counts,
        dtype,
        roles,
        voxel_volume_mm3=voxel_volume_mm3,
        spacing_mm=grid.spacing_mm,
        notes=notes,
    )


def _roles(
    labels: LabelMapLabels | None, sidecar: LabelNames | None, header: Any
) -> tuple[LabelRoles, str | None]:
    """The caller's labels, else those the sidecar or the header's label table names."""
    if labels is not None:
        return labels.roles, None
    names = sidecar or from_header_extensions(getattr(header, "extensions", None))
    if names is None:
        raise UnknownLabelError(
            "the label map names none of its labels (no label table in its NIfTI header, no "
            "JSON sidecar beside it); give the label values with lung_labels and lesion_labels"
        )
    return roles_of(names), names.source


def volumes_from_label_array(
    data: np.ndarray,
    labels: LabelMapLabels,
    *,
    voxel_volume_mm3: float,
    spacing_mm: tuple[float, float, float],
    notes: tuple[str, ...] = (),
) -> LungLesionVolumes:
    """Lung and lesion volumes of a label array already in memory (or memory-mapped)."""
    return _volumes_from_counts(
        count_labels(data),
        data.dtype,
        labels.roles,
        voxel_volume_mm3=voxel_volume_mm3,
        spacing_mm=spacing_mm,
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
    counts: dict[int, int] = {}
    for slab in _slabs(data):
        for value, occurrences in _count_slab(slab).items():
            counts[value] = counts.get(value, 0) + occurrences
    return counts


def _count_slab(slab: np.ndarray) -> dict[int, int]:
    values = slab.ravel(order="K")
    if not values.dtype.isnative:
        values = values.astype(values.dtype.newbyteorder("="))
    itemsize = values.dtype.itemsize
    if itemsize > 2:
        unique, occurrences = np.unique(values, return_counts=True)
        return dict(zip(unique.tolist(), occurrences.tolist(), strict=True))
    bits = 8 * itemsize
    totals = np.bincount(values.view(np.dtype(f"u{itemsize}")), minlength=1 << bits)
    present = np.flatnonzero(totals)
    labels = present.astype(np.int64)
    if values.dtype.kind == "i":
        labels = np.where(labels >= 1 << (bits - 1), labels - (1 << bits), labels)
    return dict(zip(labels.tolist(), totals[present].tolist(), strict=True))


def _slabs(data: np.ndarray) -> Iterator[np.ndarray]:
    if data.size == 0:
        return
    axis = int(np.argmax(np.abs(data.strides))) if data.ndim else 0
    per_index = data.size // data.shape[axis]
    step = max(1, _CHUNK_VOXELS // max(per_index, 1))
    for start in range(0, data.shape[axis], step):
        index = [slice(None)] * data.ndim
        index[axis] = slice(start, start + step)
        yield data[tuple(index)]


def _volumes_from_counts(
    counts: dict[int, int],
    dtype: np.dtype[Any],
    labels: LabelRoles,
    *,
    voxel_volume_mm3: float,
    spacing_mm: tuple[float, float, float],
    notes: tuple[str, ...],
) -> LungLesionVolumes:
    _check_labels(labels, counts, dtype)
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
        segments=labels.used,
    )


def _check_labels(labels: LabelRoles, counts: dict[int, int], dtype: np.dtype[Any]) -> None:
    limits = np.iinfo(dtype)
    declared = labels.lung | labels.lesion | labels.other
    impossible = sorted(label for label in declared if not limits.min <= label <= limits.max)
    if impossible:
        raise UnknownLabelError(
            f"label(s) {impossible[:20]} cannot occur in {dtype} data ({limits.min}..{limits.max})"
        )
    if len(counts) > _MAX_PLAUSIBLE_LABELS:
        raise UnknownLabelError(
            f"this looks like a CT image, not a label map: {len(counts):,} distinct values "
            f"from {min(counts):,} to {max(counts):,}; upload the segmentation (one integer "
            "label per voxel), not the image it was drawn on"
        )
    undeclared = sorted(label for label in counts if label != 0 and label not in declared)
    if undeclared:
        shown = listed([f"{label} ({counts[label]:,} voxels)" for label in undeclared])
        raise UnknownLabelError(
            f"the label map holds label(s) {shown} declared neither lung, lesion nor other"
        )


@contextmanager
def _nifti_stream(source: FileSource, what: str) -> Iterator[io.BufferedIOBase]:
    """The file's content as a readable stream, decompressed when it is gzipped."""
    raw: io.BufferedIOBase
    if isinstance(source, Path):
        try:
            raw = source.open("rb")
        except OSError as error:
            raise UnreadableFileError(f"{what} {source} cannot be read: {error}") from error
    else:
        raw = io.BytesIO(source)
    with raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as decompressed:
                yield decompressed
        else:
            yield raw


def _read_header(stream: io.BufferedIOBase, what: str) -> Any:
    try:
        first = stream.read(4)
        header_class = _HEADER_CLASSES.get(int.from_bytes(first, "little")) or (
            _HEADER_CLASSES.get(int.from_bytes(first, "big"))
        )
        if header_class is None:
            raise HeaderDataError("the content does not start with a NIfTI-1 or NIfTI-2 header")
        stream.seek(0)
        header = header_class.from_fileobj(stream)
    except _READ_ERRORS as error:
        raise UnreadableFileError(f"{what} is not a readable NIfTI file: {error}") from error
    magic = bytes(header["magic"])[:3]
    if magic not in _SINGLE_FILE_MAGIC:
        raise UnreadableFileError(
            f"{what} is not a single-file NIfTI image (magic {magic!r}): a header and image "
            "pair cannot be read from one file"
        )
    return header


def _geometry(header: Any, what: str) -> tuple[GridGeometry, float, tuple[str, ...]]:
    """The image's grid in millimetres, its voxel volume in mm³, and notes on how they were read."""
    notes: list[str] = []
    shape = tuple(int(extent) for extent in header.get_data_shape())
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise InvalidGeometryError(f"{what} must be a 3-D volume, got shape {shape}")
    spatial_unit = header.get_xyzt_units()[0]
    if spatial_unit == "unknown":
        scale = 1.0
        notes.append(f"{what}: spatial unit not set in the NIfTI header; millimetres assumed")
    elif spatial_unit in _MM_PER_SPATIAL_UNIT:
        scale = _MM_PER_SPATIAL_UNIT[spatial_unit]
    else:
        raise InvalidGeometryError(f"{what} has spatial unit {spatial_unit!r}")
    if int(header["sform_code"]) == 0 and int(header["qform_code"]) == 0:
        notes.append(f"{what}: neither sform nor qform is set; geometry from pixdim alone")
    affine = np.array(header.get_best_affine(), dtype=np.float64)
    affine[:3, :] *= scale
    grid = grid_from_affine(shape, affine)
    voxel_volume = abs(float(np.linalg.det(affine[:3, :3])))
    return grid, voxel_volume, tuple(notes)


def _label_dtype(header: Any) -> np.dtype[Any]:
    dtype: np.dtype[Any] = header.get_data_dtype()
    if dtype.kind not in "iu":
        raise NonIntegerLabelError(
            f"the label map stores {dtype.newbyteorder('=')} data; a label map must store "
            "integers (uint8, int16, …)"
        )
    slope, inter = header.get_slope_inter()
    if slope not in (None, 1.0) or inter not in (None, 0.0):
        raise NonIntegerLabelError(
            f"the label map scales its stored integers (scl_slope {slope}, scl_inter {inter}), "
            "so they are not label values"
        )
    return dtype


def _count_streamed_labels(
    stream: io.BufferedIOBase, header: Any, dtype: np.dtype[Any]
) -> dict[int, int]:
    """Label counts of the voxel data that follows the header, read a chunk at a time."""
    voxels = math.prod(int(extent) for extent in header.get_data_shape())
    try:
        offset = int(header.get_data_offset())
        if offset < stream.tell():
            raise HeaderDataError(f"vox_offset {offset} points inside the header")
        stream.seek(offset)
        counts: dict[int, int] = {}
        remaining = voxels
        while remaining:
            wanted = min(_CHUNK_VOXELS, remaining)
            content = stream.read(wanted * dtype.itemsize)
            if len(content) != wanted * dtype.itemsize:
                raise EOFError(
                    f"voxel data ends after {voxels - remaining + len(content) // dtype.itemsize}"
                    f" of {voxels} voxels"
                )
            for value, occurrences in _count_slab(np.frombuffer(content, dtype=dtype)).items():
                counts[value] = counts.get(value, 0) + occurrences
            remaining -= wanted
    except _READ_ERRORS as error:
        raise UnreadableFileError(f"the label map's voxel data cannot be read: {error}") from error
    return counts
