"""The catalogue of problem types: every problem `type` a Doseline API answers, declared once.

A problem type is a slug (its `type` is `/problems/{slug}`, relative to the API's base URL), the
HTTP status it is answered with, a title, and one sentence saying what it means and what to do.
The kit declares the ones every service can answer (`KIT`); each service declares its own in its
`<service>/problems.py` (a catalogue that includes the kit's), and raises them through the error
class of their status: `raise Conflict("...", problem=DOSE_HELD)`. Each service answers its
catalogue at `GET /problems/{slug}`, and `docs/problems.md` is rendered from every catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


def problem_type(slug: str) -> str:
    """The problem `type` URI; relative, resolved against the API's own base URL."""
    return f"/problems/{slug}"


@dataclass(frozen=True)
class ProblemType:
    """One kind of failure a client can act on."""

    slug: str
    status: int
    title: str
    meaning: str  # what it means and what to do, in one sentence

    @property
    def uri(self) -> str:
        return problem_type(self.slug)

    def describe(self) -> dict[str, Any]:
        """The entry as `GET /problems/{slug}` answers it."""
        return {
            "type": self.uri,
            "slug": self.slug,
            "status": self.status,
            "title": self.title,
            "description": self.meaning,
        }


class ProblemCatalogue:
    """The problem types of one scope (the kit's, or one service's), in the order declared;
    a service's catalogue includes the kit's, and no slug is declared twice in it."""

    def __init__(self, scope: str, *, includes: Sequence[ProblemCatalogue] = ()) -> None:
        self.scope = scope
        self.includes = tuple(includes)
        self._own: dict[str, ProblemType] = {}

    def declare(self, slug: str, status: int, title: str, meaning: str) -> ProblemType:
        """A new problem type of this catalogue (a programming error if the slug is taken)."""
        if self.get(slug) is not None:
            raise ValueError(f"problem type {slug!r} is already declared in {self.scope}")
        if not 400 <= status < 600:
            raise ValueError(f"problem type {slug!r}: {status} is not an error status")
        if not slug or slug != slug.lower() or " " in slug:
            raise ValueError(f"problem type {slug!r}: a slug is lower-case words joined by '-'")
        if not meaning.strip().endswith("."):
            raise ValueError(f"problem type {slug!r}: its meaning is one sentence ending in '.'")
        entry = ProblemType(slug, HTTPStatus(status).value, title, meaning)
        self._own[slug] = entry
        return entry

    @property
    def own(self) -> tuple[ProblemType, ...]:
        """The problem types this catalogue declares itself."""
        return tuple(self._own.values())

    def __iter__(self) -> Iterator[ProblemType]:
        """Every problem type: the included catalogues' first, then this one's own."""
        for included in self.includes:
            yield from included
        yield from self._own.values()

    def get(self, slug: str) -> ProblemType | None:
        for entry in self:
            if entry.slug == slug:
                return entry
        return None

    def for_status(self, status: int) -> ProblemType | None:
        """The first problem type answered with `status` (the generic one, for the kit)."""
        return next((entry for entry in self if entry.status == status), None)


KIT = ProblemCatalogue("every service")

# The generic problem of each status: the default of the error class of that status.
BAD_REQUEST = KIT.declare(
    "bad-request",
    400,
    "Bad request",
    "The request cannot be processed as sent; the detail says what to change.",
)
INVALID_INPUT = KIT.declare(
    "invalid-input",
    422,
    "The request is not valid",
    "A field or parameter is missing, mistyped or out of range; `errors` names each one to fix.",
)
UNAUTHORIZED = KIT.declare(
    "unauthorized",
    401,
    "Authentication required",
    "The bearer token is missing, expired or not valid; send a fresh token in `Authorization`.",
)
FORBIDDEN = KIT.declare(
    "forbidden",
    403,
    "Not allowed",
    "Your roles do not allow this operation; ask for a token with one of the roles named.",
)
NOT_FOUND = KIT.declare(
    "not-found",
    404,
    "Not found",
    "Nothing exists at this path, or it belongs to a site your token does not name; check the id.",
)
METHOD_NOT_ALLOWED = KIT.declare(
    "method-not-allowed",
    405,
    "Method not allowed",
    "This path does not answer the method used; the `Allow` header lists those it answers.",
)
CONFLICT = KIT.declare(
    "conflict",
    409,
    "Conflict with the current state",
    "The request is valid but the resource's current state does not allow it; read it again.",
)
STALE_ETAG = KIT.declare(
    "stale-etag",
    412,
    "The resource changed since you read it",
    "Someone changed the resource after your read; read it again and resend with the new ETag.",
)
PAYLOAD_TOO_LARGE = KIT.declare(
    "payload-too-large",
    413,
    "Payload too large",
    "The body is larger than this operation accepts; split it into smaller requests.",
)
UNSUPPORTED_MEDIA_TYPE = KIT.declare(
    "unsupported-media-type",
    415,
    "Unsupported media type",
    "The body's Content-Type is not one this operation takes; the detail names those it takes.",
)
IF_MATCH_REQUIRED = KIT.declare(
    "if-match-required",
    428,
    "If-Match header required",
    "An update needs `If-Match` with the ETag of your last read of the resource; send it.",
)
INTERNAL_ERROR = KIT.declare(
    "internal-error",
    500,
    "Internal error",
    "An unexpected error occurred and was logged; report the problem's `correlation_id`.",
)
UNAVAILABLE = KIT.declare(
    "unavailable",
    503,
    "A dependency is unavailable",
    "The database or another dependency did not answer; retry after `Retry-After` seconds.",
)

# Problems of the kit's own mechanisms, answered by every service.
MALFORMED_JSON = KIT.declare(
    "malformed-json",
    400,
    "Malformed JSON",
    "The body is not valid JSON; fix its syntax (the detail says where parsing stopped).",
)
HTTP_ERROR = KIT.declare(
    "http-error",
    400,
    "The request could not be read",
    "The HTTP layer refused the request before any endpoint saw it; the detail says why.",
)
NOT_READY = KIT.declare(
    "not-ready",
    503,
    "Not ready",
    "The service's database or broker does not answer (`checks` says which); wait and retry.",
)
SITE_NOT_AUTHORISED = KIT.declare(
    "site-not-authorised",
    403,
    "Site not authorised",
    "The request names a site your token's `sites` claim does not hold; use a token for it.",
)
REAUTHENTICATION_REQUIRED = KIT.declare(
    "reauthentication-required",
    401,
    "Re-authentication required to sign",
    "An electronic signature needs a token minted in the last five minutes; sign in again.",
)
IDEMPOTENCY_KEY_REUSED = KIT.declare(
    "idempotency-key-reused",
    422,
    "Idempotency-Key reused",
    "This Idempotency-Key was used for a different request; send a new key for a new request.",
)
UNKNOWN_SITE_TIME_ZONE = KIT.declare(
    "unknown-site-time-zone",
    422,
    "The site's time zone is not known",
    "A site's time zone is missing or not an IANA name; correct the site in the protocol.",
)
TIME_ZONE_MISSING = KIT.declare(
    "time-zone-missing",
    422,
    "The time has no UTC offset",
    "An instant was sent without a UTC offset; send it with one (`Z` or `+08:00`).",
)
UNUSABLE_BUNDLE = KIT.declare(
    "unusable-bundle",
    422,
    "Unusable FHIR Bundle",
    "The FHIR Bundle is not of a type or shape this door takes; the detail says what to fix.",
)


__all__ = ["KIT", "ProblemCatalogue", "ProblemType", "problem_type"]
