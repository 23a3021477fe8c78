"""Settings of the safety service (environment variables prefixed SAFETY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from doseline.settings import ServiceSettings


class SafetySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SAFETY_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "safety"

    # ICH E2B(R3) case safety reports of serious AEs (safety.icsr, docs/e2b.md): the ids the
    # sender and the receiver (the sponsor's safety gateway) agreed on, the country of the
    # site, and the investigational product as the reports name it.
    icsr_sender_id: str = Field(default="DOSELINE-SAFETY", min_length=1, max_length=60)
    icsr_receiver_id: str = Field(default="SPONSOR-SAFETY", min_length=1, max_length=60)
    icsr_country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    icsr_product_name: str = Field(
        default="human dead (inactivated) mesenchymal stem cells (hDMSCs)", min_length=1
    )
    icsr_route: str = Field(default="intravenous infusion", min_length=1)
