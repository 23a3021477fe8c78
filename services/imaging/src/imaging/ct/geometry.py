"""Voxel grid geometry in patient space: comparing grids, and slice spacing from slice positions.

DICOM (OUTCOMES.md §5.1): PixelSpacing (0028,0030) is [row spacing, column spacing]; the slice
spacing is the distance between consecutive ImagePositionPatient (0020,0032) projected on the
slice normal, the cross product of the two ImageOrientationPatient (0020,0037) direction vectors,
and never SliceThickness (reconstructions may overlap). Projecting on the normal also gives the
right voxel volume for a tilted gantry, where positions do not move along the normal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imaging.ct.errors import GeometryMismatchError, InvalidGeometryError

Vector = tuple[float, float, float]


@dataclass(frozen=True)
class GeometryTolerance:
    """How far two grids may differ and still be the same grid.

    The defaults absorb the rounding of DICOM decimal strings and of NIfTI's float32 header
    fields, and the 0.01 mm steps in which some scanners round slice positions.
    """

    spacing_mm: float = 0.01
    origin_mm: float = 0.01
    direction: float = 1e-4


DEFAULT_TOLERANCE = GeometryTolerance()


@dataclass(frozen=True)
class GridGeometry:
    """A 3-D voxel grid in patient space, in millimetres."""

    shape: tuple[int, int, int]
    spacing_mm: Vector
    directions: tuple[Vector, Vector, Vector]
    """Unit vectors of the three grid axes, in the order of `shape`."""
    origin_mm: Vector
    """Centre of the first voxel."""


def grid_from_affine(shape: Sequence[int], affine: np.ndarray) -> GridGeometry:
    """The grid of a NIfTI image from its voxel-to-millimetre affine."""
    if len(shape) != 3:
        raise InvalidGeometryError(f"expected a 3-D grid, got shape {tuple(shape)}")
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    if not np.all(np.isfinite(linear)) or np.any(spacing == 0):
        raise InvalidGeometryError(f"the affine has a degenerate axis:\n{affine}")
    directions = linear / spacing
    origin = np.asarray(affine, dtype=np.float64)[:3, 3]
    return GridGeometry(
        shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        spacing_mm=_vector(spacing),
        directions=(
            _vector(directions[:, 0]),
            _vector(directions[:, 1]),
            _vector(directions[:, 2]),
        ),
        origin_mm=_vector(origin),
    )


def grid_mismatches(
    mask: GridGeometry, image: GridGeometry, tolerance: GeometryTolerance
) -> list[str]:
    """Every way the mask's grid differs from the image's beyond the tolerance."""
    problems: list[str] = []
    if mask.shape != image.shape:
        problems.append(f"shape {mask.shape} ≠ {image.shape}")
    for axis in range(3):
        if abs(mask.spacing_mm[axis] - image.spacing_mm[axis]) > tolerance.spacing_mm:
            problems.append(
                f"spacing of axis {axis} {mask.spacing_mm[axis]:.6g} mm ≠ "
                f"{image.spacing_mm[axis]:.6g} mm"
            )
        difference = max(
            abs(a - b) for a, b in zip(mask.directions[axis], image.directions[axis], strict=True)
        )
        if difference > tolerance.direction:
            problems.append(
                f"orientation of axis {axis} {_shown(mask.directions[axis])} ≠ "
                f"{_shown(image.directions[axis])}"
            )
    offset = distance(mask.origin_mm, image.origin_mm)
    if offset > tolerance.origin_mm:
        problems.append(
            f"origin {_shown(mask.origin_mm)} mm ≠ {_shown(image.origin_mm)} mm "
            f"({offset:.4g} mm apart)"
        )
    return problems


def require_same_grid(
    mask: GridGeometry,
    image: GridGeometry,
    tolerance: GeometryTolerance,
    *,
    mask_name: str,
    image_name: str,
) -> None:
    problems = grid_mismatches(mask, image, tolerance)
    if problems:
        raise GeometryMismatchError(
            f"the {mask_name} does not match the {image_name}: " + "; ".join(problems)
        )


def slice_normal(image_orientation: Sequence[float], tolerance: GeometryTolerance) -> Vector:
    """The unit normal of the slices: row direction × column direction (DICOM PS3.3 C.7.6.2)."""
    if len(image_orientation) != 6:
        raise InvalidGeometryError(
            f"ImageOrientationPatient needs 6 values, got {list(image_orientation)}"
        )
    row = np.asarray(image_orientation[:3], dtype=np.float64)
    column = np.asarray(image_orientation[3:], dtype=np.float64)
    row_length, column_length = float(np.linalg.norm(row)), float(np.linalg.norm(column))
    if (
        not math.isfinite(row_length + column_length)
        or abs(row_length - 1.0) > tolerance.direction * 10
        or abs(column_length - 1.0) > tolerance.direction * 10
        or abs(float(np.dot(row, column))) > tolerance.direction * 10
    ):
        raise InvalidGeometryError(
            f"ImageOrientationPatient is not two orthogonal unit vectors: {list(image_orientation)}"
        )
    normal = np.cross(row / row_length, column / column_length)
    return _vector(normal / np.linalg.norm(normal))


@dataclass(frozen=True)
class SliceStack:
    """Distinct slice positions along the normal, evenly spaced."""

    offsets_mm: tuple[float, ...]
    """Each slice's ImagePositionPatient projected on the normal, ascending."""
    spacing_mm: float

    def index_of(self, offset_mm: float, tolerance: GeometryTolerance) -> int | None:
        """The slice at this offset along the normal, or None when no slice is there."""
        nearest = int(np.argmin(np.abs(np.asarray(self.offsets_mm) - offset_mm)))
        if abs(self.offsets_mm[nearest] - offset_mm) > tolerance.origin_mm:
            return None
        return nearest


def slice_stack(
    positions: Sequence[Sequence[float]],
    normal: Vector,
    tolerance: GeometryTolerance,
    *,
    what: str,
) -> SliceStack:
    """The slices that the positions (one per frame or image, repeats allowed) lie on.

    Positions closer than the origin tolerance along the normal are the same slice. The spacing
    between consecutive slices must be uniform; it is (last − first) / (count − 1).
    """
    offsets = sorted(projected_offset(position, normal) for position in positions)
    distinct: list[float] = []
    for offset in offsets:
        if not distinct or offset - distinct[-1] > tolerance.origin_mm:
            distinct.append(offset)
    if len(distinct) < 2:
        raise InvalidGeometryError(
            f"the {what} has a single slice position, so its slice spacing cannot be derived "
            "from slice positions"
        )
    gaps = np.diff(distinct)
    spacing = (distinct[-1] - distinct[0]) / (len(distinct) - 1)
    irregular = [
        f"{float(gap):.4g} mm after {distinct[index]:.4g} mm"
        for index, gap in enumerate(gaps)
        if abs(float(gap) - spacing) > tolerance.spacing_mm
    ]
    if irregular:
        raise InvalidGeometryError(
            f"the {what} has irregular slice spacing (mean {spacing:.4g} mm): "
            + "; ".join(irregular[:5])
            + ("; …" if len(irregular) > 5 else "")
        )
    return SliceStack(offsets_mm=tuple(distinct), spacing_mm=spacing)


def projected_offset(position: Sequence[float], normal: Vector) -> float:
    return float(np.dot(np.asarray(position, dtype=np.float64), np.asarray(normal)))


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def _vector(values: np.ndarray) -> Vector:
    return (float(values[0]), float(values[1]), float(values[2]))


def _shown(vector: Sequence[float]) -> str:
    return "(" + ", ".join(f"{value:.6g}" for value in vector) + ")"
