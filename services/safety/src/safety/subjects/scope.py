"""Site scope of safety's subject data: what leads each parameter to a subject's site."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from doseline.auth import Principal
from doseline.errors import DoselineError, NotFound
from doseline.site_scope import ScopedParameter, in_scope, require_in_scope
from safety.adjudication.models import DltCaseRow
from safety.adverse_events.models import AdverseEventRow
from safety.ehr.models import ProposedAdverseEventRow
from safety.problems import (
    ADVERSE_EVENT_NOT_FOUND,
    DLT_NOT_FOUND,
    PROPOSAL_NOT_FOUND,
    SUBJECT_NOT_FOUND,
)
from safety.subjects import repository
from safety.subjects.models import SubjectRow


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _site_through(model: Any) -> Any:
    def site_of(session: Session, value: str) -> str | None:
        key = _uuid(value)
        if key is None:
            return None
        return session.scalars(
            select(SubjectRow.site_id)
            .join(model, model.subject_id == SubjectRow.subject_id)
            .where(model.id == key)
        ).first()

    return site_of


def subject_not_found(subject_id: str) -> DoselineError:
    return NotFound(f"subject {subject_id} is unknown to safety", problem=SUBJECT_NOT_FOUND)


# Every path or query parameter of the safety API that names subject data; the errors are the
# ones the endpoints give for data that does not exist.
SCOPED_PARAMETERS: Mapping[str, ScopedParameter] = {
    "subject_id": ScopedParameter(repository.site_of_subject, subject_not_found),
    "ae_id": ScopedParameter(
        _site_through(AdverseEventRow),
        lambda v: NotFound(f"no adverse event {v}", problem=ADVERSE_EVENT_NOT_FOUND),
    ),
    "dlt_id": ScopedParameter(
        _site_through(DltCaseRow), lambda v: NotFound(f"no DLT {v}", problem=DLT_NOT_FOUND)
    ),
    "proposal_id": ScopedParameter(
        _site_through(ProposedAdverseEventRow),
        lambda v: NotFound(f"no proposed adverse event {v}", problem=PROPOSAL_NOT_FOUND),
    ),
}


def subject_in_scope(column: Any, principal: Principal | None) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose subject (`column`) is at one of the caller's sites."""
    if principal is None or principal.all_sites:
        return true()
    condition: ColumnElement[bool] = column.in_(
        select(SubjectRow.subject_id).where(in_scope(SubjectRow.site_id, principal))
    )
    return condition


def require_visible_subject(session: Session, principal: Principal, subject_id: str) -> None:
    """A subject named in a request body: out of the caller's sites, it does not exist."""
    site_id = repository.site_of_subject(session, subject_id)
    if site_id is not None:
        require_in_scope(principal, site_id, subject_not_found(subject_id))
