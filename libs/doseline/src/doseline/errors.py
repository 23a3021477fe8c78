"""RFC 9457 problem details: the one error hierarchy of Doseline and its HTTP rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


class DoselineError(Exception):
    """A failure a client can act on; rendered as `application/problem+json`.

    `slug` is the stable machine-readable kind (it becomes the problem `type`); `detail` says,
    in words, what happened and what to fix.
    """

    status: int = HTTPStatus.BAD_REQUEST
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        status: int | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        if status is not None:
            self.status = status
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def type_uri(self) -> str:
        return problem_type(self.slug)

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        # Extension members never overwrite the RFC 9457 members (a resource's own `status`,
        # say, must not replace the HTTP status in the body).
        body: dict[str, Any] = {
            **self.extra,
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        return body


def problem_type(slug: str) -> str:
    """The problem `type` URI; relative, resolved against the API's own base URL."""
    return f"/problems/{slug}"


class InvalidInput(DoselineError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "invalid-input"
    title = "The request is not valid"

    @classmethod
    def at(cls, field: Sequence[str | int], message: str, **kwargs: Any) -> InvalidInput:
        """An error about one field, in the same shape as request validation errors."""
        loc = [str(part) for part in field]
        return cls(
            f"{'.'.join(loc)}: {message}",
            extra={"errors": [{"loc": loc, "msg": message}]},
            **kwargs,
        )


class Unauthorized(DoselineError):
    status = HTTPStatus.UNAUTHORIZED
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="doseline"'}
        super().__init__(detail, headers=headers, **kwargs)


class Forbidden(DoselineError):
    status = HTTPStatus.FORBIDDEN
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DoselineError):
    status = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = "Not found"


class Conflict(DoselineError):
    status = HTTPStatus.CONFLICT
    slug = "conflict"
    title = "Conflict with the current state"


class PreconditionRequired(DoselineError):
    status = HTTPStatus.PRECONDITION_REQUIRED
    slug = "if-match-required"
    title = "If-Match header required"


class PreconditionFailed(DoselineError):
    status = HTTPStatus.PRECONDITION_FAILED
    slug = "stale-etag"
    title = "The resource changed since you read it"


class PayloadTooLarge(DoselineError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    slug = "payload-too-large"
    title = "Payload too large"


class ServiceUnavailable(DoselineError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "unavailable"
    title = "A dependency is unavailable"
