"""Settings of the enrollment service (environment variables prefixed ENROLLMENT_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class EnrollmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENROLLMENT_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "enrollment"
