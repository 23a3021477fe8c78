"""Site scope of enrollment's subject data: what leads each parameter to a subject's site."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.site_scope import ScopedParameter, not_found, require_in_scope
from enrollment.dosing.models import DosePreparation, Infusion
from enrollment.subjects import repository
from enrollment.subjects.models import Subject

T = TypeVar("T")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _site_of_preparation(session: Session, value: str) -> str | None:
    key = _uuid(value)
    if key is None:
        return None
    return session.scalars(
        select(Subject.site_id)
        .join(DosePreparation, DosePreparation.subject_id == Subject.id)
        .where(DosePreparation.id == key)
    ).first()


def _site_of_infusion(session: Session, value: str) -> str | None:
    key = _uuid(value)
    if key is None:
        return None
    return session.scalars(
        select(Subject.site_id)
        .join(Infusion, Infusion.subject_id == Subject.id)
        .where(Infusion.id == key)
    ).first()


# Every path or query parameter of the enrollment API that names subject data.
SCOPED_PARAMETERS: Mapping[str, ScopedParameter] = {
    "subject_id": ScopedParameter(repository.site_of_subject, not_found("subject")),
    "preparation_id": ScopedParameter(_site_of_preparation, not_found("dose preparation")),
    "infusion_id": ScopedParameter(_site_of_infusion, not_found("infusion")),
}


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
