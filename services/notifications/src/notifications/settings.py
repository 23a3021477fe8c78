"""Settings of the notifications service (environment variables prefixed NOTIFICATIONS_)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from doseline.settings import Environment, ServiceSettings

DEVELOPMENT_SECRET_KEY = "doseline-development-webhook-secret-key"  # noqa: S105

# Standard Webhooks v1.0.0, "Retry schedule": after the immediate attempt, retry after 5 s,
# 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h: deliveries keep trying for about 3 days.
STANDARD_WEBHOOKS_RETRY_SCHEDULE = (
    5.0,
    300.0,
    1800.0,
    7200.0,
    18000.0,
    36000.0,
    50400.0,
    72000.0,
    86400.0,
)


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "notifications"

    retry_schedule_seconds: tuple[float, ...] = Field(
        default=STANDARD_WEBHOOKS_RETRY_SCHEDULE,
        min_length=1,
        description="Delays between attempts after the first; the last failure disables",
    )
    retry_jitter: float = Field(default=0.2, ge=0, lt=1, description="± fraction of each delay")
    max_retry_after_seconds: float = Field(default=86400.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    delivery_threads: int = Field(default=8, ge=1, le=64)
    # Deliveries in flight at once to one subscription (every worker together); unset, a
    # quarter of the delivery threads. A slow receiver then holds up its own deliveries only.
    delivery_max_in_flight_per_subscription: int | None = Field(default=None, ge=1, le=64)
    response_excerpt_chars: int = Field(default=500, ge=0, le=10_000)
    # Targets on loopback, private, link-local, multicast or reserved addresses are refused
    # (SSRF) unless every address the host resolves to lies in one of these networks.
    allowed_target_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    secret_overlap_hours: float = Field(
        default=24.0, ge=0, le=24 * 30, description="How long a rotated secret stays valid"
    )
    topic_exchange: str = Field(default="doseline.events", min_length=1, max_length=200)
    ehr_integration_reads_feed: bool = Field(
        default=False,
        description=(
            "Let hospital systems (role ehr_integration) read the event feed, within their sites"
        ),
    )
    # Encrypts the webhook signing secrets stored in the database.
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)

    @property
    def in_flight_per_subscription(self) -> int:
        if self.delivery_max_in_flight_per_subscription is not None:
            return self.delivery_max_in_flight_per_subscription
        return max(1, self.delivery_threads // 4)

    @model_validator(mode="after")
    def _production_needs_its_own_secret_key(self) -> NotificationsSettings:
        if (
            self.environment is Environment.PRODUCTION
            and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
        ):
            raise ValueError("production requires its own NOTIFICATIONS_SECRET_KEY")
        return self
