"""Site scope of subjects named in a request body, and of rows listed with their subject ids
(what leads a path parameter to a site: `enrollment.scope`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.site_scope import not_found, require_in_scope
from enrollment.subjects import repository

T = TypeVar("T")


def require_visible_subject(session: Session, principal: Principal, subject_id: str) -> None:
    """A subject named in a request body: out of the caller's sites, it does not exist."""
    site_id = repository.site_of_subject(session, subject_id)
    if site_id is not None:
        require_in_scope(principal, site_id, not_found("subject")(subject_id))


def visible(
    session: Session, principal: Principal, trial_id: str, rows: Iterable[T], subject_of: str
) -> list[T]:
    """The rows (each with a subject id attribute `subject_of`) of the caller's sites."""
    if principal.all_sites:
        return list(rows)
    sites = repository.sites_of_trial_subjects(session, trial_id)
    return [
        row
        for row in rows
        if principal.can_access_site(sites.get(str(getattr(row, subject_of)), ""))
    ]
