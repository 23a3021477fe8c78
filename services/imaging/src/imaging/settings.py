"""Settings of the imaging service (environment variables prefixed IMAGING_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class ImagingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "imaging"

    # Uploaded segmentations: local filesystem object storage.
    storage_dir: Path = Path(".state/objects/imaging")
    # A 512 × 512 × 300 label map is 157 MB as 16-bit integers uncompressed; a DICOM-SEG with its
    # source CT series is larger. Uploads above this are refused with 413 while streaming.
    max_upload_bytes: int = Field(default=1024**3, ge=1)
    # Voxels a segmentation header may declare before its data is read (512 × 512 × 2000).
    max_voxels: int = Field(default=512 * 512 * 2000, ge=1)
    # A CT analysis claimed by a worker that died is retried after this many seconds.
    ct_analysis_lease_seconds: int = Field(default=600, ge=10)
