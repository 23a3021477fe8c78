"""Settings of the imaging service (environment variables prefixed IMAGING_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class ImagingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "imaging"

    # Uploaded segmentations: objects on the local filesystem under storage_dir, or in an
    # S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...). With s3, storage_dir still holds the
    # uploads being received and the temporary copies the worker measures.
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    storage_dir: Path = Path(".state/objects/imaging")
    s3_bucket: str | None = None
    # Prepended to every object key as is: "imaging/" puts the objects under imaging/ct/<id>.
    s3_prefix: str = ""
    # None is AWS itself; set it for any other S3-compatible store (https://minio.example:9000).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # Without keys, boto3's default chain applies (environment, shared files, instance role).
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # A 512 × 512 × 300 label map is 157 MB as 16-bit integers uncompressed; a DICOM-SEG with its
    # source CT series is larger. Uploads above this are refused with 413 while streaming.
    max_upload_bytes: int = Field(default=1024**3, ge=1)
    # Voxels a segmentation header may declare before its data is read (512 × 512 × 2000).
    max_voxels: int = Field(default=512 * 512 * 2000, ge=1)
    # A CT analysis claimed by a worker that died is retried after this many seconds.
    ct_analysis_lease_seconds: int = Field(default=600, ge=10)

    @model_validator(mode="after")
    def _s3_is_complete(self) -> Self:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("IMAGING_S3_BUCKET is required when IMAGING_STORAGE_BACKEND is s3")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "IMAGING_S3_ACCESS_KEY_ID and IMAGING_S3_SECRET_ACCESS_KEY are given together "
                "or not at all (then boto3's default credential chain applies)"
            )
        return self
