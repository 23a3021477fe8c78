"""Webhook signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks v1.0.0)."""

from __future__ import annotations

import base64
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format prefix, not a secret)
# Standard Webhooks: symmetric secrets are 24 to 64 random bytes; 32 matches HMAC-SHA256's size.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
