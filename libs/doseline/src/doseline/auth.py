"""Authentication and authorisation: OAuth2 bearer JWTs, roles and site scope from claims."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from doseline import problems
from doseline.errors import Forbidden, Unauthorized
from doseline.settings import ServiceSettings
from doseline.tokens import ALL_SITES, DEVELOPMENT_JWT_SECRET, Role, mint_token


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person or a named system, with roles and the sites they may see."""

    subject: str
    name: str
    roles: frozenset[Role]
    sites: frozenset[str]
    auth_time: datetime | None
    token_id: str | None = None

    def has_any(self, roles: Iterable[Role]) -> bool:
        return bool(self.roles & set(roles))

    @property
    def all_sites(self) -> bool:
        """Sponsor-wide: the token says `*`, or the caller holds a sponsor-wide role."""
        return ALL_SITES in self.sites

    def can_access_site(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites

    def require_site(self, site: str) -> None:
        """For a site named openly (registering a subject there): 403, the site is no secret."""
        if not self.can_access_site(site):
            raise Forbidden(
                f"your account is not authorised for site {site!r}",
                problem=problems.SITE_NOT_AUTHORISED,
                extra={"site_id": site, "your_sites": sorted(self.sites)},
            )

    @property
    def audit_name(self) -> str:
        return f"{self.name} <{self.subject}>"


class TokenVerifier:
    """Checks signature, issuer, audience and expiry; RS256 via JWKS, or HS256 in development."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        unknown = set(settings.sponsor_wide_roles) - {role.value for role in Role}
        if unknown:
            raise ValueError(f"SPONSOR_WIDE_ROLES names unknown roles: {sorted(unknown)}")
        self._sponsor_wide = frozenset(Role(role) for role in settings.sponsor_wide_roles)
        self._max_lifetime = timedelta(hours=settings.jwt_max_lifetime_hours)
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._secret = (
            settings.jwt_secret.get_secret_value()
            if settings.jwt_secret is not None and self._jwks is None
            else None
        )

    @property
    def may_block(self) -> bool:
        """Verifying may wait on the network (a JWKS key not fetched yet, or refreshed)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            else:
                key = self._secret
                algorithms = ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired; sign in again") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the token is not valid: {error}") from None
        except jwt.PyJWKClientError as error:
            raise Unauthorized(f"the token's signing key could not be found: {error}") from None
        self._check_lifetime(claims)
        return principal_from_claims(claims, sponsor_wide_roles=self._sponsor_wide)

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise Unauthorized("the token's iat and exp claims must be numbers")
        if timedelta(seconds=expires - issued) > self._max_lifetime:
            hours = self._max_lifetime.total_seconds() / 3600
            raise Unauthorized(
                f"the token lives longer than the {hours:g} hours this service accepts; "
                "ask for a shorter-lived token"
            )


def principal_from_claims(
    claims: dict[str, Any], *, sponsor_wide_roles: Iterable[Role] = ()
) -> Principal:
    raw_roles = claims.get("roles", [])
    if not isinstance(raw_roles, list):
        raise Unauthorized("the token's roles claim must be a list")
    roles = frozenset(Role(role) for role in raw_roles if role in Role.__members__.values())
    # No claim means no site: a token must name the sites its holder acts for.
    raw_sites = claims.get("sites", [])
    if raw_sites == ALL_SITES:
        raw_sites = [ALL_SITES]
    if not isinstance(raw_sites, list):
        raise Unauthorized("the token's sites claim must be a list of site ids, or '*'")
    sites = frozenset(str(site) for site in raw_sites)
    if roles & frozenset(sponsor_wide_roles):
        sites |= {ALL_SITES}
    auth_time = claims.get("auth_time")
    return Principal(
        subject=str(claims["sub"]),
        name=str(claims.get("name") or claims["sub"]),
        roles=roles,
        sites=sites,
        auth_time=datetime.fromtimestamp(auth_time, UTC) if isinstance(auth_time, int) else None,
        token_id=claims.get("jti"),
    )


_bearer = HTTPBearer(auto_error=False, description="OAuth2 bearer JWT")


def _verified(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send an 'Authorization: Bearer <token>' header")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller. A shared-secret token is checked on the event loop (microseconds of
    CPU, no I/O); a JWKS-signed one in a worker thread, since its key may have to be fetched."""
    verifier: TokenVerifier = request.app.state.token_verifier
    if verifier.may_block:
        return await run_in_threadpool(_verified, request, credentials)
    return _verified(request, credentials)


def principal_of(request: Request) -> Principal:
    """The caller of `request`, verified from its bearer token (outside dependency injection,
    in a worker thread: it may fetch a JWKS key)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip()) if token else None
    )
    return _verified(request, credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only callers holding at least one of `roles`."""
    allowed = frozenset(roles)

    # A check of the token's claims: on the event loop, not worth a worker thread.
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & allowed:
            raise Forbidden(
                "this action needs one of the roles: "
                + ", ".join(sorted(role.value for role in allowed)),
                extra={"required_roles": sorted(role.value for role in allowed)},
            )
        return principal

    return dependency


READ_ROLES = frozenset(Role) - {Role.EHR_INTEGRATION}


__all__ = [
    "ALL_SITES",
    "DEVELOPMENT_JWT_SECRET",
    "READ_ROLES",
    "Principal",
    "Role",
    "TokenVerifier",
    "current_principal",
    "mint_token",
    "principal_from_claims",
    "require_roles",
]
