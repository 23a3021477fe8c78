"""Settings of the safety service (environment variables prefixed SAFETY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class SafetySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SAFETY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "safety"
