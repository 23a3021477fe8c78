"""Limits on CT input files, checked before a file is read whole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imaging.ct.errors import FileTooLargeError, UnreadableFileError

FileSource = Path | bytes
"""A file on disk, or its content already in memory (an upload)."""


@dataclass(frozen=True)
class ReadLimits:
    """Size limits for one input file.

    `max_file_bytes` bounds the file as stored; `max_voxels` bounds the volume a header declares,
    which is what a compressed file expands to (a 512 × 512 × 300 CT is 78.6 million voxels).
    """

    max_file_bytes: int = 1024**3
    max_voxels: int = 512 * 512 * 2000


DEFAULT_READ_LIMITS = ReadLimits()


def checked_file_size(source: FileSource, limits: ReadLimits, what: str) -> int:
    """The size of the file in bytes, after checking it against the limit without reading it."""
    if isinstance(source, bytes):
        size = len(source)
    else:
        try:
            size = source.stat().st_size
        except OSError as error:
            raise UnreadableFileError(f"{what} {source} cannot be read: {error}") from error
        if not source.is_file():
            raise UnreadableFileError(f"{what} {source} is not a file")
    if size > limits.max_file_bytes:
        raise FileTooLargeError(
            f"{what} is {size} bytes, larger than the limit of {limits.max_file_bytes} bytes"
        )
    if size == 0:
        raise UnreadableFileError(f"{what} is empty")
    return size


def check_voxel_count(shape: tuple[int, ...], limits: ReadLimits, what: str) -> None:
    """Refuse a volume whose declared size exceeds the voxel limit, before its data is read."""
    voxels = 1
    for extent in shape:
        voxels *= extent
    if voxels > limits.max_voxels:
        shown = " × ".join(str(extent) for extent in shape)
        raise FileTooLargeError(
            f"{what} declares {shown} = {voxels} voxels, more than the limit of {limits.max_voxels}"
        )
