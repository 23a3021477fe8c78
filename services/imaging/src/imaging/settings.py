"""Settings of the imaging service (environment variables prefixed IMAGING_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class ImagingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGING_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "imaging"
