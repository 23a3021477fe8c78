"""Object storage for uploaded segmentations: the interface and its local-filesystem implementation.

An upload is streamed to a temporary file inside the storage root while its bytes are counted
and hashed, and refused as soon as it passes the size limit. It becomes an object only by an
atomic rename, so a reader never sees a half-written object; the caller deletes the object
again if the database transaction that records it fails.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from doseline.errors import PayloadTooLarge


@dataclass(frozen=True)
class Incoming:
    """An upload received in full but not yet an object."""

    temp_path: Path
    size_bytes: int
    sha256: str
    head: bytes
    """The first bytes, to recognise the file type without reading it again."""


class ObjectStorage(Protocol):
    async def receive(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Incoming: ...

    def commit(self, incoming: Incoming, key: str) -> None: ...

    def discard(self, incoming: Incoming) -> None: ...

    def local_path(self, key: str) -> Path: ...

    def delete(self, key: str) -> None: ...


_HEAD_BYTES = 1024
_KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_/.")


class LocalObjectStorage:
    """Objects as files under `root`; temporary uploads under `root/.incoming`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming_dir = root / ".incoming"

    async def receive(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Incoming:
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.incoming_dir, prefix="upload-")
        temp_path = Path(name)
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(handle, "wb") as output:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"the upload exceeds the limit of {max_bytes} bytes; "
                            "compress the file (.nii.gz) or ask an administrator",
                            extra={"max_bytes": max_bytes},
                        )
                    if len(head) < _HEAD_BYTES:
                        head += chunk[: _HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    output.write(chunk)
                output.flush()
                os.fsync(output.fileno())
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        return Incoming(temp_path=temp_path, size_bytes=size, sha256=digest.hexdigest(), head=head)

    def commit(self, incoming: Incoming, key: str) -> None:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(incoming.temp_path, target)

    def discard(self, incoming: Incoming) -> None:
        incoming.temp_path.unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        if not key or not set(key) <= _KEY_CHARACTERS or ".." in key or key.startswith("/"):
            raise ValueError(f"not an object key: {key!r}")
        return self.root / key

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)
