"""ETag / If-Match optimistic concurrency for updates (428 without If-Match, 412 when stale)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from doseline.errors import PreconditionFailed, PreconditionRequired

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag from your last read of this resource (required for updates)",
    ),
]


def etag(version: int) -> str:
    return f'"v{version}"'


def check_if_match(if_match: str | None, *, current_version: int) -> None:
    """Admit an update only if the client saw the current version of the resource."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "send an If-Match header with the ETag from your last read of this resource",
            extra={"current_etag": etag(current_version)},
        )
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in offered or etag(current_version) in offered:
        return
    raise PreconditionFailed(
        "someone changed this resource since you read it; read it again, reapply your "
        "change and send the new ETag",
        extra={"current_etag": etag(current_version)},
    )
