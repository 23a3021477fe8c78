"""Development tokens: the roles and the HS256 minting, importable without the web stack.

`doseline token mint` and `make token` import only this module, so a token takes a fraction of
a second to mint. The compact HS256 serialisation (RFC 7515) is a few lines of the standard
library; importing PyJWT would load `cryptography` for nothing. The services verify with PyJWT,
and a test checks that both produce the same bytes. `doseline.auth` re-exports everything here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

DEVELOPMENT_JWT_SECRET = "doseline-development-secret-not-for-production-use"  # noqa: S105


class Role(StrEnum):
    COORDINATOR = "coordinator"
    INVESTIGATOR = "investigator"
    SAFETY_PHYSICIAN = "safety_physician"
    PHARMACIST = "pharmacist"
    MONITOR = "monitor"  # read-only
    EHR_INTEGRATION = "ehr_integration"  # a hospital system writing on its own account
    OUTCOMES_ASSESSOR = "outcomes_assessor"  # radiologist, lung-function lab, research nurse
    ADMIN = "admin"  # configuration: trials, protocols, dictionaries, subscriptions


ALL_SITES = "*"
# The form of a site id (as `doseline.events.SITE_ID_PATTERN`, without importing pydantic here).
SITE_ID = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def mint_token(
    *,
    subject: str,
    roles: Iterable[Role | str],
    sites: Iterable[str] = (ALL_SITES,),
    name: str | None = None,
    secret: str = DEVELOPMENT_JWT_SECRET,
    issuer: str = "doseline-dev",
    audience: str = "doseline",
    lifetime: timedelta = timedelta(hours=8),
    auth_time: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """A development HS256 token; production tokens come from the hospital's identity provider."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "name": name or subject,
        "roles": [Role(role).value for role in roles],
        "sites": list(sites),
        "iss": issuer,
        "aud": audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "auth_time": int((auth_time or issued).timestamp()),
    }
    return encode_hs256(claims, secret)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_hs256(claims: dict[str, object], secret: str) -> str:
    """A JWS compact serialisation signed with HMAC-SHA256, byte for byte as PyJWT writes it."""
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
        for part in (header, claims)
    )
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_b64url(signature.digest())}"


def site_list(given: Iterable[str] | None) -> list[str]:
    """The `sites` claim from `--sites` values: repeated or comma-separated site ids, `*` for
    every site (sponsor-wide); nothing given is `*`. A value that is not a site id is refused."""
    sites = [site.strip() for value in given or [] for site in value.split(",") if site.strip()]
    if not sites or ALL_SITES in sites:
        return [ALL_SITES]
    for site in sites:
        if not re.fullmatch(SITE_ID, site):
            raise ValueError(f"{site!r} is not a site id (letters, digits, '.', '_', '-')")
    return sorted(set(sites))
