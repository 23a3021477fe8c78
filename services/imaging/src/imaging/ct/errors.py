"""Why a CT volumetry input cannot be measured; each error says what to fix."""

from __future__ import annotations


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
