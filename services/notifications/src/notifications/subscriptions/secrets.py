"""Webhook signing secrets: `whsec_` + base64 of 32 random bytes (Standard Webhooks v1.0.0),
kept encrypted in the database."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format prefix, not a secret)
# Standard Webhooks: symmetric secrets are 24 to 64 random bytes; 32 matches HMAC-SHA256's size.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


class SecretBox:
    """Encrypts signing secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256) with a settings key.

    The database alone then gives nobody the power to sign webhooks a subscriber would trust.
    """

    def __init__(self, key: str) -> None:
        derived = base64.urlsafe_b64encode(hashlib.sha256(key.encode("utf-8")).digest())
        self._fernet = Fernet(derived)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ValueError(
                "a stored webhook secret does not decrypt with NOTIFICATIONS_SECRET_KEY; "
                "was the key changed?"
            ) from None
