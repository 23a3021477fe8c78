"""Site scope: a caller sees and changes the subject data of the sites their token names.

Every service declares, once, how each path or query parameter that names subject data (a
subject id, an adverse event id, an analysis id...) leads to a site, and installs
`site_scope_guard` on its app. The guard runs before the endpoint, so no endpoint that takes
such a parameter can forget the check, and a new endpoint with one is covered the day it is
written. Out of scope answers exactly what "no such thing" answers (404, same problem type and
detail): a coordinator of site A cannot tell whether site B's subject exists.

Lists filter with `in_scope(column, principal)`; bodies naming a subject call `require_in_scope`;
a site named openly (registering a subject there) is `Principal.require_site` (403).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from doseline.auth import Principal, principal_of
from doseline.errors import DoselineError, NotFound
from doseline.http import DbSession


@dataclass(frozen=True)
class ScopedParameter:
    """How a parameter's value leads to its site (or sites: a webhook subscription may serve
    several), and what its absence answers. `site_of` returns None for a value that names
    nothing, or nothing of any site (a trial-level event): the endpoint then answers as usual.
    """

    site_of: Callable[[Session, str], str | Collection[str] | None]
    not_found: Callable[[str], DoselineError]


def not_found(kind: str) -> Callable[[str], DoselineError]:
    """The plain 'no such <kind>' 404 that out-of-scope data also answers."""
    return lambda value: NotFound(f"no {kind} {value}")


def require_in_scope(principal: Principal, site_id: str | None, error: DoselineError) -> None:
    """Raise `error` (the service's own 'not found') unless the caller may see `site_id`."""
    if site_id is None or not principal.can_access_site(site_id):
        raise error


def in_scope(column: Any, principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows of the caller's sites (all rows for sponsor-wide)."""
    if principal.all_sites:
        return true()
    condition: ColumnElement[bool] = column.in_(sorted(principal.sites))
    return condition


def site_scope_guard(parameters: Mapping[str, ScopedParameter]) -> Callable[..., Awaitable[None]]:
    """An app-wide dependency checking every scoped path and query parameter of a request."""

    async def guard(request: Request, session: DbSession) -> None:
        # Most requests name no scoped parameter: answered on the event loop; the others read
        # the database, in a worker thread.
        named = [
            (name, str(value))
            for name, value in [*request.path_params.items(), *request.query_params.items()]
            if name in parameters
        ]
        if named:
            await run_in_threadpool(check, request, session, named)

    def check(request: Request, session: Session, named: list[tuple[str, str]]) -> None:
        principal = principal_of(request)
        for name, value in named:
            scoped = parameters[name]
            sites = scoped.site_of(session, value)
            # Unknown values are left to the endpoint, which knows how to say so.
            if sites is None:
                continue
            if not all(
                principal.can_access_site(site)
                for site in ([sites] if isinstance(sites, str) else sites)
            ):
                raise scoped.not_found(value)

    return guard


def site_scope_dependency(parameters: Mapping[str, ScopedParameter]) -> Any:
    return Depends(site_scope_guard(parameters))
