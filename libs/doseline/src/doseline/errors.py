"""RFC 9457 problem details: the one error hierarchy of Doseline and its HTTP rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from doseline import problems
from doseline.problems import ProblemType, problem_type

PROBLEM_JSON = "application/problem+json"


class DoselineError(Exception):
    """A failure a client can act on; rendered as `application/problem+json`.

    `problem_type` is its entry in a problem catalogue (doseline.problems): the stable
    machine-readable kind (it becomes the problem `type`), its status and title. Each class
    answers one status with its `default_problem`, and a problem raised through a class has that
    class's status (`raise Conflict("...", problem=DOSE_HELD)`; tests/test_problem_catalogue.py
    checks every raise site). `detail` says, in words, what happened and what to fix.
    """

    default_problem: ClassVar[ProblemType] = problems.BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        problem: ProblemType | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problem_type = problem or self.default_problem
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def slug(self) -> str:
        return self.problem_type.slug

    @property
    def title(self) -> str:
        return self.problem_type.title

    @property
    def status(self) -> int:
        return self.problem_type.status

    @property
    def type_uri(self) -> str:
        return self.problem_type.uri

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


class InvalidInput(DoselineError):
    default_problem = problems.INVALID_INPUT

    @classmethod
    def at(
        cls, field: Sequence[str | int], message: str, *, problem: ProblemType | None = None
    ) -> InvalidInput:
        """An error about one field, in the same shape as request validation errors."""
        loc = [str(part) for part in field]
        return cls(
            f"{'.'.join(loc)}: {message}",
            problem=problem,
            extra={"errors": [{"loc": loc, "msg": message}]},
        )


class Unauthorized(DoselineError):
    default_problem = problems.UNAUTHORIZED

    def __init__(
        self,
        detail: str,
        *,
        problem: ProblemType | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        challenge = {"WWW-Authenticate": 'Bearer realm="doseline"', **(headers or {})}
        super().__init__(detail, problem=problem, extra=extra, headers=challenge)


class Forbidden(DoselineError):
    default_problem = problems.FORBIDDEN


class NotFound(DoselineError):
    default_problem = problems.NOT_FOUND


class MethodNotAllowed(DoselineError):
    default_problem = problems.METHOD_NOT_ALLOWED


class Conflict(DoselineError):
    default_problem = problems.CONFLICT


class PreconditionRequired(DoselineError):
    default_problem = problems.IF_MATCH_REQUIRED


class PreconditionFailed(DoselineError):
    default_problem = problems.STALE_ETAG


class PayloadTooLarge(DoselineError):
    default_problem = problems.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(DoselineError):
    default_problem = problems.UNSUPPORTED_MEDIA_TYPE


class InternalError(DoselineError):
    default_problem = problems.INTERNAL_ERROR


class ServiceUnavailable(DoselineError):
    default_problem = problems.UNAVAILABLE


# The class of each status, for a problem chosen while the request runs.
_CLASS_OF_STATUS: dict[int, type[DoselineError]] = {
    kind.default_problem.status: kind
    for kind in (
        DoselineError,
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionRequired,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        InternalError,
        ServiceUnavailable,
    )
}


def error_class(status: int) -> type[DoselineError]:
    """The error class answering `status` (the root class for a status without its own)."""
    return _CLASS_OF_STATUS.get(status, DoselineError)


def error_of(problem: ProblemType, detail: str, **kwargs: Any) -> DoselineError:
    """An error of `problem`, as the class of its status (for a problem known only at run time:
    a raise site that knows its problem names the class itself)."""
    return error_class(problem.status)(detail, problem=problem, **kwargs)


__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "DoselineError",
    "Forbidden",
    "InternalError",
    "InvalidInput",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_class",
    "error_of",
    "problem_type",
]
