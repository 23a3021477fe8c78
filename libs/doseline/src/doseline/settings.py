"""Settings shared by every Doseline service; each service subclasses with its own env prefix."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from doseline.audit import (
    DEVELOPMENT_AUDIT_KEY,
    DEVELOPMENT_AUDIT_KEY_ID,
    KEY_ID_PATTERN,
    AuditKeys,
)
from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY
from doseline.tokens import DEVELOPMENT_JWT_SECRET

# Kept here, not imported from doseline.auth, which imports these settings.
DEFAULT_SPONSOR_WIDE_ROLES = ("monitor", "safety_physician")


def _audit_keys(secret: SecretStr) -> dict[str, str]:
    """AUDIT_KEYS: a JSON object of key id -> key, e.g. `{"2027-01": "<64 hex digits>"}`."""
    try:
        parsed = json.loads(secret.get_secret_value())
    except json.JSONDecodeError:
        raise ValueError(
            'AUDIT_KEYS must be a JSON object of key id to key, e.g. {"2027-01": "<64 hex>"}'
        ) from None
    if not isinstance(parsed, dict) or not parsed:
        raise ValueError("AUDIT_KEYS must be a JSON object with at least one key id")
    for key_id, key in parsed.items():
        if not re.fullmatch(KEY_ID_PATTERN, key_id):
            raise ValueError(
                f"AUDIT_KEYS: key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if not isinstance(key, str) or len(key) < 32:
            raise ValueError(f"AUDIT_KEYS: the key of {key_id!r} must be text of 32+ characters")
    return parsed


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

    # The audit trail's MAC keys, kept outside the database: a JSON object of key id -> key
    # (`{"2027-01": "<64 hex>"}`), every id that chained entries still listed, and the id new
    # entries are chained with. Rotation: add a key, point AUDIT_KEY_ID at it. One secret (not a
    # dict field): settings stay hashable, and no key id or key shows in a repr.
    audit_keys: SecretStr = SecretStr(json.dumps({DEVELOPMENT_AUDIT_KEY_ID: DEVELOPMENT_AUDIT_KEY}))
    audit_key_id: str = DEVELOPMENT_AUDIT_KEY_ID
    # Checkpoints of the chain head, outside the database: `<dir>/<service>.jsonl`.
    audit_checkpoint_dir: Path = Path(".state/audit-checkpoints")
    audit_checkpoint_minutes: float = Field(default=60, gt=0, le=24 * 60)

    @property
    def schema_name(self) -> str:
        return self.service_name

    @property
    def audit_keyring(self) -> AuditKeys:
        return AuditKeys(
            current=self.audit_key_id,
            keys={key_id: key.encode() for key_id, key in _audit_keys(self.audit_keys).items()},
        )

    @property
    def audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_dir / f"{self.service_name}.jsonl"

    @model_validator(mode="after")
    def _audit_keys_are_usable(self) -> ServiceSettings:
        keys = _audit_keys(self.audit_keys)
        if self.audit_key_id not in keys:
            raise ValueError(
                f"AUDIT_KEY_ID {self.audit_key_id!r} is not among the AUDIT_KEYS ids "
                f"({', '.join(sorted(keys)) or 'none'})"
            )
        return self

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
        if (
            self.environment is Environment.PRODUCTION
            and _audit_keys(self.audit_keys).get(self.audit_key_id) == DEVELOPMENT_AUDIT_KEY
        ):
            raise ValueError("production requires its own AUDIT_KEYS and AUDIT_KEY_ID")
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError("set JWT_SECRET (development) or JWKS_URL (production)")
        return self
