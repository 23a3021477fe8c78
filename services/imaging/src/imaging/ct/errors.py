"""Why a CT volumetry input cannot be measured; each error says what to fix."""

from __future__ import annotations

from collections.abc import Sequence


class VolumetryError(ValueError):
    """Base of every CT volumetry error."""


class UnreadableFileError(VolumetryError):
    """The file is corrupt, truncated, or not the kind of file expected (NIfTI, DICOM-SEG, CT)."""


class FileTooLargeError(VolumetryError):
    """The file, or the volume its header declares, exceeds the configured limit."""


class InvalidGeometryError(VolumetryError):
    """The file's own geometry cannot give a voxel volume (irregular or missing slice spacing,
    degenerate affine, inconsistent frames)."""


class GeometryMismatchError(VolumetryError):
    """The mask does not lie on the grid of its image: shape, spacing, orientation or origin."""


class NonIntegerLabelError(VolumetryError):
    """The label map does not hold integer labels (floating-point data, or scaled integers)."""


class UnknownLabelError(VolumetryError):
    """A requested label or segment does not exist, or the data holds labels nobody declared."""


class EmptyLungError(VolumetryError):
    """The lung (lung and lesion voxels together) is empty, so p = lesion / lung is undefined."""


class LesionOutsideLungError(VolumetryError):
    """Lesion voxels lie outside the lung mask and the chosen policy is to refuse them."""


class InvalidMeasurementError(VolumetryError):
    """A radiologist's volume measurement is impossible or implausible."""


# Error messages are read by people in a table cell and stored with the analysis: short enough
# to read (a CT sent as a label map has thousands of values; a segmentation may have 100 segments).
MAX_MESSAGE_CHARS = 500


def listed(items: Sequence[str], *, limit: int = 6) -> str:
    """The first `limit` items joined by commas, and how many more there are: a short list."""
    shown = ", ".join(items[:limit])
    if len(items) <= limit:
        return shown
    return f"{shown}, … and {len(items) - limit:,} more ({len(items):,} in all)"


def shortened(message: str) -> str:
    """A message cut to MAX_MESSAGE_CHARS, for a text assembled from parts of unknown length."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
