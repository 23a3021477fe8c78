"""Settings shared by every Doseline service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY
from doseline.tokens import DEVELOPMENT_JWT_SECRET

# Kept here, not imported from doseline.auth, which imports these settings.
DEFAULT_SPONSOR_WIDE_ROLES = ("monitor", "safety_physician")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Settings every service reads; a subclass sets `service_name` and the env prefix.

    `ENROLLMENT_DATABASE_URL`, `SAFETY_BROKER_URL` and so on: one prefix per service, so that a
    process can never pick up another service's configuration by accident.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str] = "doseline"

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/doseline"
    broker_url: str = "redis://127.0.0.1:6390/0"
    log_level: str = "INFO"
    log_json: bool = True

    # Auth: HS256 with a shared secret in development, RS256 through a JWKS URL in production.
    jwt_secret: SecretStr | None = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwks_url: str | None = None
    jwt_issuer: str = "doseline-dev"
    jwt_audience: str = "doseline"
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # Holders of these roles see every site (sponsor staff: monitors, safety physicians),
    # whatever their token's `sites` claim; empty to rely on the claim alone.
    sponsor_wide_roles: tuple[str, ...] = DEFAULT_SPONSOR_WIDE_ROLES
    # A token whose `exp - iat` is longer than this is refused, whoever signed it.
    jwt_max_lifetime_hours: float = Field(default=12, gt=0, le=24 * 30)

    # Outbox relay: LISTEN/NOTIFY wakes it; polling is only the fallback.
    relay_poll_seconds: float = Field(default=5.0, gt=0)
    relay_batch_size: int = Field(default=100, ge=1, le=10_000)

    worker_threads: int = Field(default=4, ge=1, le=64)
    # JSON bodies: typed endpoints (a model per request) and raw documents (FHIR resources and
    # Bundles, read whole); larger bodies are a 413 before anything is parsed.
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_raw_json_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    # HMAC key for hospital identifiers (MRN); the same key in every service that matches them.
    identifier_hash_key: SecretStr = SecretStr(DEVELOPMENT_IDENTIFIER_KEY)

    @property
    def schema_name(self) -> str:
        return self.service_name

    @property
    def event_source(self) -> str:
        return f"urn:doseline:{self.service_name}"

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> ServiceSettings:
        # With a JWKS URL only RS256 tokens from the identity provider are accepted and the
        # shared secret is ignored, so production can never fall back to the development key.
        if self.environment is Environment.PRODUCTION and self.jwks_url is None:
            raise ValueError(
                "production requires JWKS_URL (RS256 tokens from the identity provider)"
            )
        if (
            self.environment is Environment.PRODUCTION
            and self.identifier_hash_key.get_secret_value() == DEVELOPMENT_IDENTIFIER_KEY
        ):
            raise ValueError("production requires its own IDENTIFIER_HASH_KEY")
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError("set JWT_SECRET (development) or JWKS_URL (production)")
        return self
