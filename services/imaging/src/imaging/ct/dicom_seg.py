"""DICOM-SEG: lung and lesion volumes from a segmentation object, optionally with its source CT.

The segmentation is read with highdicom, one frame at a time (frames are fetched lazily from the
file), and only the frames of the selected segments are decoded. For each slice, the lung mask is
the union of the lung segments' frames and the lesion mask the union of the lesion segments'
frames, so overlapping segments are counted once (OUTCOMES.md §5.1).

Which segments are lung and which lesion is read from each segment's coded meaning (its
SegmentedPropertyTypeCodeSequence, looked up in segment_codes), unless the caller numbers them;
a caller may number one role and leave the other to the codes. A segmentation with lung
segments and no lesion segment measures a lesion volume of 0; one without a lung segment is
refused with the segments it does define, so that the caller can number the lung. The segments
counted, with their labels and codes, are part of the result.

Voxel volume = row spacing × column spacing × slice spacing. PixelSpacing comes from the Pixel
Measures functional group. The slice spacing comes from slice positions, never SliceThickness
(geometry.py): from the source CT series when it is given, otherwise from the segmentation's own
frame positions. Segmentations usually omit empty frames, so frame positions alone can have gaps;
uneven gaps, a single slice, or a frame spacing that disagrees with the segmentation's
SpacingBetweenSlices make the spacing ambiguous and are refused: the source series is needed.

BINARY and LABELMAP segmentations are exact. A FRACTIONAL segmentation is thresholded: a pixel is
in the segment when its stored value is at least `fractional_threshold` × MaximumFractionalValue;
the result's notes say so.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from imaging.ct.errors import (
    GeometryMismatchError,
    InvalidGeometryError,
    UnknownLabelError,
    UnreadableFileError,
    VolumetryError,
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
    SliceStack,
    Vector,
    distance,
    projected_offset,
    slice_normal,
    slice_stack,
)
from imaging.ct.segment_codes import Role, concept_of_code
from imaging.ct.volumetry import (
    LesionOutsideLung,
    LungLesionVolumes,
    SegmentUsed,
    VolumeSource,
    VoxelCounts,
    from_voxel_counts,
)

# What pydicom and highdicom raise on corrupt, truncated or non-conformant files.
_READ_ERRORS: Final = (
    InvalidDicomError,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    NotImplementedError,
)


@dataclass(frozen=True)
class SegmentChoice:
    """Which segments are lung and which are lesion: for each role, the segment numbers the
    caller gave, or None to find them by their coded meaning (segment_codes)."""

    lung: frozenset[int] | None = None
    lesion: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.lung is not None and not self.lung:
            raise UnknownLabelError("at least one lung segment is needed")
        lung, lesion = self.lung or frozenset(), self.lesion or frozenset()
        shared = lung & lesion
        if shared:
            raise UnknownLabelError(f"segment(s) {sorted(shared)} selected as both lung and lesion")
        if (lung | lesion) and min(lung | lesion) < 1:
            raise UnknownLabelError("segment numbers start at 1")


BY_CODED_MEANING = SegmentChoice()


@dataclass(frozen=True)
class SegmentSelection:
    """Which segment numbers of the segmentation are lung and which are lesion, both given."""

    lung: frozenset[int]
    lesion: frozenset[int]

    def __post_init__(self) -> None:
        if not self.lung:
            raise UnknownLabelError("at least one lung segment is needed")
        if not self.lesion:
            raise UnknownLabelError("at least one lesion segment is needed")
        SegmentChoice(lung=self.lung, lesion=self.lesion)

    @property
    def choice(self) -> SegmentChoice:
        return SegmentChoice(lung=self.lung, lesion=self.lesion)


@dataclass(frozen=True)
class _Resolved:
    """The segment numbers counted for each role, and how each was chosen."""

    lung: frozenset[int]
    lesion: frozenset[int]
    used: tuple[SegmentUsed, ...]


def dicom_seg_volumes(
    segmentation: FileSource,
    segments: SegmentSelection | SegmentChoice = BY_CODED_MEANING,
    *,
    source_images: Sequence[FileSource] | None = None,
    lesion_outside_lung: LesionOutsideLung = LesionOutsideLung.COUNT_AS_LUNG,
    fractional_threshold: float = 0.5,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
    tolerance: GeometryTolerance = DEFAULT_TOLERANCE,
) -> LungLesionVolumes:
    """Lung and lesion volumes of a DICOM-SEG.

    Segments are found by their coded meaning unless `segments` numbers them; a segmentation
    with a lung segment and no lesion segment measures a lesion volume of 0. With
    `source_images` (the CT series the segmentation was drawn on, one file per slice), the
    segmentation must share its frame of reference, rows, columns, pixel spacing and orientation,
    and every frame must lie on one of its slices; the slice spacing is then the series'.
    """
    choice = segments.choice if isinstance(segments, SegmentSelection) else segments
    if not 0.0 < fractional_threshold <= 1.0:
        raise ValueError(f"fractional threshold {fractional_threshold} must be in (0, 1]")
    checked_file_size(segmentation, limits, "segmentation")
    with _opened(segmentation) as stream:
        try:
            seg = hd.seg.segread(stream, lazy_frame_retrieval=True)
        except _READ_ERRORS as error:
            raise UnreadableFileError(
                f"segmentation is not a readable DICOM-SEG: {type(error).__name__}: {error}"
            ) from error
        try:
            layout = _frame_layout(seg, tolerance)
        except VolumetryError:
            raise
        except _READ_ERRORS as error:
            raise UnreadableFileError(
                f"segmentation has malformed geometry attributes: {error}"
            ) from error
        check_voxel_count((len(layout.frames), layout.rows, layout.columns), limits, "segmentation")
        resolved, notes = _resolve_segments(seg, choice)

        stack, spacing_source, spacing_notes = _slice_geometry(
            seg, layout, source_images, limits, tolerance
        )
        notes.extend(spacing_notes)
        if layout.segmentation_type is hd.seg.SegmentationTypeValues.FRACTIONAL:
            notes.append(
                f"fractional segmentation thresholded at {fractional_threshold:g} × "
                f"MaximumFractionalValue {layout.maximum_fractional_value}"
            )
        counts = _count_voxels(seg, layout, stack, resolved, fractional_threshold, tolerance)

    row_spacing, column_spacing = layout.pixel_spacing
    return from_voxel_counts(
        counts,
        source=VolumeSource.DICOM_SEG,
        voxel_volume_mm3=row_spacing * column_spacing * stack.spacing_mm,
        spacing_mm=(row_spacing, column_spacing, stack.spacing_mm),
        slice_spacing_source=spacing_source,
        lesion_outside_lung=lesion_outside_lung,
        notes=tuple(notes),
        segments=resolved.used,
    )


def _slice_geometry(
    seg: Any,
    layout: _FrameLayout,
    source_images: Sequence[FileSource] | None,
    limits: ReadLimits,
    tolerance: GeometryTolerance,
) -> tuple[SliceStack, str, list[str]]:
    """The slices to count on, where their spacing came from, and notes about it."""
    notes: list[str] = []
    if source_images is not None:
        source = _source_series(source_images, limits, tolerance)
        _require_on_source(seg, layout, source, tolerance)
        stack = source.stack
        if _disagrees(layout.spacing_between_slices, stack, tolerance):
            notes.append(
                f"SpacingBetweenSlices {layout.spacing_between_slices:g} mm disagrees with the "
                f"{stack.spacing_mm:.6g} mm between the source slices; the positions were used"
            )
        return stack, "source CT series ImagePositionPatient", notes

    try:
        stack = slice_stack(
            [frame.position for frame in layout.frames],
            layout.normal,
            tolerance,
            what="segmentation",
        )
    except InvalidGeometryError as error:
        raise InvalidGeometryError(f"{error}; supply the source CT series") from error
    _require_one_position_per_slice(layout, stack, tolerance)
    if layout.spacing_between_slices is None:
        notes.append(
            "slice spacing from the segmentation's own frame positions, with neither a "
            "source series nor SpacingBetweenSlices to confirm it"
        )
    elif _disagrees(layout.spacing_between_slices, stack, tolerance):
        # Evenly spaced frames with every other slice omitted look like a regular stack at
        # twice the spacing; only the source series can tell.
        raise InvalidGeometryError(
            f"segmentation frames are {stack.spacing_mm:.6g} mm apart but its "
            f"SpacingBetweenSlices is {layout.spacing_between_slices:g} mm: frames may be "
            "missing; supply the source CT series"
        )
    return stack, "segmentation frame ImagePositionPatient", notes


def _disagrees(
    spacing_between_slices: float | None, stack: SliceStack, tolerance: GeometryTolerance
) -> bool:
    return (
        spacing_between_slices is not None
        and abs(spacing_between_slices - stack.spacing_mm) > tolerance.spacing_mm
    )


@dataclass(frozen=True)
class _Frame:
    number: int
    """1-based, as DICOM numbers frames."""
    position: Vector
    segment_number: int | None
    """None in a LABELMAP segmentation, whose frames carry every segment."""


@dataclass(frozen=True)
class _FrameLayout:
    segmentation_type: hd.seg.SegmentationTypeValues
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]
    orientation: tuple[float, ...]
    normal: Vector
    frames: tuple[_Frame, ...]
    spacing_between_slices: float | None
    maximum_fractional_value: int | None


@dataclass(frozen=True)
class _SourceSeries:
    series_instance_uid: str
    frame_of_reference_uid: str
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]
    orientation: tuple[float, ...]
    stack: SliceStack
    positions: tuple[Vector, ...]
    """One per slice of `stack`, in the same order."""


@contextmanager
def _opened(source: FileSource) -> Iterator[BinaryIO]:
    if isinstance(source, Path):
        try:
            with source.open("rb") as stream:
                yield stream
        except OSError as error:
            raise UnreadableFileError(f"{source} cannot be read: {error}") from error
    else:
        yield io.BytesIO(source)


def _functional_group(frame_item: Dataset, shared: Dataset | None, keyword: str) -> Dataset | None:
    for item in (frame_item, shared):
        if item is not None and keyword in item and len(item[keyword].value) > 0:
            group: Dataset = item[keyword].value[0]
            return group
    return None


def _frame_layout(seg: Any, tolerance: GeometryTolerance) -> _FrameLayout:
    number_of_frames = int(seg.number_of_frames)
    per_frame = seg.get("PerFrameFunctionalGroupsSequence")
    if per_frame is None or len(per_frame) != number_of_frames:
        items = 0 if per_frame is None else len(per_frame)
        raise UnreadableFileError(
            f"segmentation declares {number_of_frames} frame(s) but has {items} per-frame "
            "functional group item(s)"
        )
    shared_sequence = seg.get("SharedFunctionalGroupsSequence")
    shared = shared_sequence[0] if shared_sequence else None
    segmentation_type = seg.segmentation_type
    is_labelmap = segmentation_type is hd.seg.SegmentationTypeValues.LABELMAP

    orientations: set[tuple[float, ...]] = set()
    spacings: set[tuple[float, ...]] = set()
    between: set[float] = set()
    frames: list[_Frame] = []
    for index, item in enumerate(per_frame):
        number = index + 1
        plane_position = _functional_group(item, shared, "PlanePositionSequence")
        plane_orientation = _functional_group(item, shared, "PlaneOrientationSequence")
        pixel_measures = _functional_group(item, shared, "PixelMeasuresSequence")
        if plane_position is None or "ImagePositionPatient" not in plane_position:
            raise InvalidGeometryError(f"segmentation frame {number} has no ImagePositionPatient")
        if plane_orientation is None or "ImageOrientationPatient" not in plane_orientation:
            raise InvalidGeometryError(
                f"segmentation frame {number} has no ImageOrientationPatient"
            )
        if pixel_measures is None or "PixelSpacing" not in pixel_measures:
            raise InvalidGeometryError(f"segmentation frame {number} has no PixelSpacing")
        orientations.add(tuple(float(value) for value in plane_orientation.ImageOrientationPatient))
        row_spacing, column_spacing = (float(value) for value in pixel_measures.PixelSpacing)
        spacings.add((row_spacing, column_spacing))
        if pixel_measures.get("SpacingBetweenSlices") is not None:
            between.add(float(pixel_measures.SpacingBetweenSlices))
        segment_number = None
        if not is_labelmap:
            identification = _functional_group(item, shared, "SegmentIdentificationSequence")
            if identification is None or "ReferencedSegmentNumber" not in identification:
                raise InvalidGeometryError(f"segmentation frame {number} names no segment")
            segment_number = int(identification.ReferencedSegmentNumber)
        position = tuple(float(value) for value in plane_position.ImagePositionPatient)
        if len(position) != 3:
            raise InvalidGeometryError(
                f"segmentation frame {number} position {position} is not 3-D"
            )
        frames.append(_Frame(number, (position[0], position[1], position[2]), segment_number))

    orientation = _single(orientations, tolerance.direction, "ImageOrientationPatient")
    pixel_spacing = _single(spacings, tolerance.spacing_mm, "PixelSpacing")
    if min(pixel_spacing) <= 0:
        raise InvalidGeometryError(f"segmentation PixelSpacing {pixel_spacing} is not positive")
    spacing_between = (
        _single({(value,) for value in between}, tolerance.spacing_mm, "SpacingBetweenSlices")[0]
        if between
        else None
    )
    maximum_fractional = seg.get("MaximumFractionalValue")
    return _FrameLayout(
        segmentation_type=segmentation_type,
        rows=int(seg.Rows),
        columns=int(seg.Columns),
        pixel_spacing=(pixel_spacing[0], pixel_spacing[1]),
        orientation=orientation,
        normal=slice_normal(orientation, tolerance),
        frames=tuple(frames),
        spacing_between_slices=spacing_between,
        maximum_fractional_value=None if maximum_fractional is None else int(maximum_fractional),
    )


def _single(values: set[tuple[float, ...]], tolerance: float, what: str) -> tuple[float, ...]:
    """The one value all frames share (within tolerance)."""
    first = next(iter(values))
    for other in values:
        if max(abs(a - b) for a, b in zip(first, other, strict=True)) > tolerance:
            raise InvalidGeometryError(
                f"segmentation frames differ in {what}: {sorted(values)[:3]}"
            )
    return first


@dataclass(frozen=True)
class _Defined:
    number: int
    label: str
    code: tuple[str, str, str] | None
    """(scheme, value, meaning) of the segmented property type."""

    @property
    def shown(self) -> str:
        """ "1 'Lung'", or "1 'first segment' (Bone)" when the label does not say the meaning."""
        meaning = "" if self.code is None else self.code[2]
        if not meaning or meaning.lower() == self.label.lower():
            return f"{self.number} {self.label!r}"
        return f"{self.number} {self.label!r} ({meaning})"

    def used(self, role: Role, chosen_by: str) -> SegmentUsed:
        code = None if self.code is None else " ".join(part for part in self.code if part)
        return SegmentUsed(role.value, self.number, self.label, code, chosen_by)


def _defined_segments(seg: Any) -> list[_Defined]:
    """The segments the segmentation describes, background (number 0) left out."""
    defined: list[_Defined] = []
    for item in seg.get("SegmentSequence") or []:
        number = int(item.SegmentNumber)
        if number == 0:
            continue
        types = item.get("SegmentedPropertyTypeCodeSequence") or []
        code = None
        if types:
            concept = types[0]
            code = (
                str(concept.get("CodingSchemeDesignator") or ""),
                str(concept.get("CodeValue") or concept.get("LongCodeValue") or ""),
                str(concept.get("CodeMeaning") or ""),
            )
        defined.append(_Defined(number, str(item.get("SegmentLabel") or ""), code))
    return defined


def _by_meaning(defined: Sequence[_Defined], role: Role, taken: frozenset[int]) -> list[_Defined]:
    found = []
    for segment in defined:
        if segment.number in taken or segment.code is None:
            continue
        concept = concept_of_code(segment.code[0], segment.code[1])
        if concept is not None and concept.role is role:
            found.append(segment)
    return found


def _resolve_segments(seg: Any, choice: SegmentChoice) -> tuple[_Resolved, list[str]]:
    """The segments counted as lung and as lesion: the caller's numbers, else coded meaning."""
    defined = _defined_segments(seg)
    by_number = {segment.number: segment for segment in defined}
    unknown = sorted(
        ((choice.lung or frozenset()) | (choice.lesion or frozenset())) - by_number.keys()
    )
    if unknown:
        raise UnknownLabelError(
            f"segment(s) {unknown} are not defined; the segmentation defines "
            + listed([segment.shown for segment in defined])
        )
    chosen: dict[Role, list[tuple[_Defined, str]]] = {}
    for role, numbers, other in (
        (Role.LUNG, choice.lung, choice.lesion),
        (Role.LESION, choice.lesion, choice.lung),
    ):
        if numbers is not None:
            chosen[role] = [(by_number[number], "request") for number in sorted(numbers)]
        else:
            found = _by_meaning(defined, role, other or frozenset())
            chosen[role] = [(segment, "coded meaning") for segment in found]
    if not chosen[Role.LUNG]:
        raise UnknownLabelError(
            "no segment is coded as lung (SNOMED CT Lung, Right lung, Left lung, Lobe of lung, "
            "or a lobe); the segmentation defines "
            + listed([segment.shown for segment in defined])
            + ". Name the lung segment(s) by number with lung_labels"
            + (" (and any lesion segments with lesion_labels)" if choice.lesion is None else "")
        )
    # The codes and how each segment was chosen are in the result's segments.
    notes = [
        f"{role.value} segment(s): "
        + listed([f"{segment.number} {segment.label!r}" for segment, _ in chosen[role]])
        for role in (Role.LUNG, Role.LESION)
        if chosen[role]
    ]
    if not chosen[Role.LESION]:
        notes.append(
            "no lesion segment: none is coded as a lesion (Lesion, Neoplasm, Mass, Nodule, "
            "Ground glass opacity, Consolidation, …), so the lesion volume is 0"
        )
    used = tuple(
        segment.used(role, how)
        for role in (Role.LUNG, Role.LESION)
        for segment, how in chosen[role]
    )
    return (
        _Resolved(
            lung=frozenset(segment.number for segment, _ in chosen[Role.LUNG]),
            lesion=frozenset(segment.number for segment, _ in chosen[Role.LESION]),
            used=used,
        ),
        notes,
    )


def _source_series(
    sources: Sequence[FileSource], limits: ReadLimits, tolerance: GeometryTolerance
) -> _SourceSeries:
    if not sources:
        raise InvalidGeometryError("the source CT series is empty")
    datasets = [_read_source_image(source, index, limits) for index, source in enumerate(sources)]
    try:
        return _series_geometry(datasets, tolerance)
    except VolumetryError:
        raise
    except _READ_ERRORS as error:
        raise UnreadableFileError(
            f"source CT series has malformed geometry attributes: {error}"
        ) from error


def _series_geometry(datasets: Sequence[Dataset], tolerance: GeometryTolerance) -> _SourceSeries:
    first = datasets[0]
    for what in ("SeriesInstanceUID", "FrameOfReferenceUID", "Rows", "Columns"):
        values = {str(dataset.get(what)) for dataset in datasets}
        if len(values) > 1:
            raise GeometryMismatchError(
                f"the source images are not one series: they differ in {what}"
            )
    orientation = _single(
        {tuple(float(value) for value in dataset.ImageOrientationPatient) for dataset in datasets},
        tolerance.direction,
        "ImageOrientationPatient of the source images",
    )
    pixel_spacing = _single(
        {tuple(float(value) for value in dataset.PixelSpacing) for dataset in datasets},
        tolerance.spacing_mm,
        "PixelSpacing of the source images",
    )
    normal = slice_normal(orientation, tolerance)
    positions = [
        tuple(float(value) for value in dataset.ImagePositionPatient) for dataset in datasets
    ]
    stack = slice_stack(positions, normal, tolerance, what="source CT series")
    if len(stack.offsets_mm) != len(datasets):
        raise InvalidGeometryError(
            f"the source CT series has {len(datasets)} images on {len(stack.offsets_mm)} slice "
            "positions: some images repeat a slice"
        )
    by_slice: dict[int, Vector] = {}
    for position in positions:
        index = stack.index_of(projected_offset(position, normal), tolerance)
        assert index is not None  # the stack was built from these positions
        by_slice[index] = (position[0], position[1], position[2])
    return _SourceSeries(
        series_instance_uid=str(first.SeriesInstanceUID),
        frame_of_reference_uid=str(first.FrameOfReferenceUID),
        rows=int(first.Rows),
        columns=int(first.Columns),
        pixel_spacing=(pixel_spacing[0], pixel_spacing[1]),
        orientation=orientation,
        stack=stack,
        positions=tuple(by_slice[index] for index in range(len(stack.offsets_mm))),
    )


_SOURCE_ATTRIBUTES: Final = (
    "SeriesInstanceUID",
    "FrameOfReferenceUID",
    "Rows",
    "Columns",
    "PixelSpacing",
    "ImageOrientationPatient",
    "ImagePositionPatient",
)


def _read_source_image(source: FileSource, index: int, limits: ReadLimits) -> Dataset:
    what = f"source image {index + 1}"
    checked_file_size(source, limits, what)
    try:
        with _opened(source) as stream:
            dataset = pydicom.dcmread(stream, stop_before_pixels=True)
    except _READ_ERRORS as error:
        raise UnreadableFileError(f"{what} is not a readable DICOM file: {error}") from error
    missing = [keyword for keyword in _SOURCE_ATTRIBUTES if dataset.get(keyword) is None]
    if missing:
        raise InvalidGeometryError(f"{what} lacks {', '.join(missing)}")
    if int(dataset.get("NumberOfFrames") or 1) != 1:
        raise InvalidGeometryError(
            f"{what} is a multi-frame image; the source series must be one image per slice"
        )
    return dataset


def _require_on_source(
    seg: Any, layout: _FrameLayout, source: _SourceSeries, tolerance: GeometryTolerance
) -> None:
    problems: list[str] = []
    if str(seg.get("FrameOfReferenceUID")) != source.frame_of_reference_uid:
        problems.append("frame of reference differs")
    referenced = {
        str(item.SeriesInstanceUID)
        for item in seg.get("ReferencedSeriesSequence") or []
        if item.get("SeriesInstanceUID") is not None
    }
    if referenced and source.series_instance_uid not in referenced:
        problems.append(
            f"it references series {sorted(referenced)}, not the source series "
            f"{source.series_instance_uid}"
        )
    if (layout.rows, layout.columns) != (source.rows, source.columns):
        problems.append(
            f"shape {layout.rows} × {layout.columns} ≠ {source.rows} × {source.columns}"
        )
    if max(abs(a - b) for a, b in zip(layout.pixel_spacing, source.pixel_spacing, strict=True)) > (
        tolerance.spacing_mm
    ):
        problems.append(f"pixel spacing {layout.pixel_spacing} ≠ {source.pixel_spacing}")
    if max(abs(a - b) for a, b in zip(layout.orientation, source.orientation, strict=True)) > (
        tolerance.direction
    ):
        problems.append(f"orientation {layout.orientation} ≠ {source.orientation}")
    if not problems:
        for frame in layout.frames:
            index = source.stack.index_of(
                projected_offset(frame.position, layout.normal), tolerance
            )
            if index is None or distance(frame.position, source.positions[index]) > (
                tolerance.origin_mm
            ):
                problems.append(
                    f"frame {frame.number} at {frame.position} lies on no slice of the source "
                    "series"
                )
                break
    if problems:
        raise GeometryMismatchError(
            "the segmentation does not match its source CT series: " + "; ".join(problems)
        )


def _require_one_position_per_slice(
    layout: _FrameLayout, stack: SliceStack, tolerance: GeometryTolerance
) -> None:
    first_on_slice: dict[int, Vector] = {}
    for frame in layout.frames:
        index = stack.index_of(projected_offset(frame.position, layout.normal), tolerance)
        assert index is not None  # the stack was built from these positions
        anchor = first_on_slice.setdefault(index, frame.position)
        if distance(anchor, frame.position) > tolerance.origin_mm:
            raise InvalidGeometryError(
                f"segmentation frames {frame.position} and {anchor} share a slice but not a "
                "position"
            )


def _count_voxels(
    seg: Any,
    layout: _FrameLayout,
    stack: SliceStack,
    segments: _Resolved,
    fractional_threshold: float,
    tolerance: GeometryTolerance,
) -> VoxelCounts:
    is_labelmap = layout.segmentation_type is hd.seg.SegmentationTypeValues.LABELMAP
    selected = segments.lung | segments.lesion
    frames_by_slice: dict[int, list[_Frame]] = {}
    for frame in layout.frames:
        if is_labelmap or frame.segment_number in selected:
            index = stack.index_of(projected_offset(frame.position, layout.normal), tolerance)
            assert index is not None  # checked against the stack before counting
            frames_by_slice.setdefault(index, []).append(frame)

    stored_threshold = None
    if layout.segmentation_type is hd.seg.SegmentationTypeValues.FRACTIONAL:
        if not layout.maximum_fractional_value:
            raise InvalidGeometryError("fractional segmentation without MaximumFractionalValue")
        stored_threshold = fractional_threshold * layout.maximum_fractional_value
    lung_numbers = np.array(sorted(segments.lung))
    lesion_numbers = np.array(sorted(segments.lesion))

    lung_total = lesion_total = both_total = 0
    for frames in frames_by_slice.values():
        lung = np.zeros((layout.rows, layout.columns), dtype=bool)
        lesion = np.zeros((layout.rows, layout.columns), dtype=bool)
        for frame in frames:
            pixels = _stored_frame(seg, frame.number)
            if is_labelmap:
                lung |= np.isin(pixels, lung_numbers)
                lesion |= np.isin(pixels, lesion_numbers)
                continue
            inside = pixels != 0 if stored_threshold is None else pixels >= stored_threshold
            if frame.segment_number in segments.lung:
                lung |= inside
            else:
                lesion |= inside
        lung_total += int(np.count_nonzero(lung))
        lesion_total += int(np.count_nonzero(lesion))
        both_total += int(np.count_nonzero(lung & lesion))
    return VoxelCounts(
        lung_mask_voxels=lung_total,
        lesion_mask_voxels=lesion_total,
        lesion_inside_lung_mask_voxels=both_total,
    )


def _stored_frame(seg: Any, number: int) -> np.ndarray:
    try:
        pixels: np.ndarray = seg.get_stored_frame(number)
    except _READ_ERRORS as error:
        raise UnreadableFileError(
            f"segmentation frame {number} cannot be decoded: {error}"
        ) from error
    return pixels
