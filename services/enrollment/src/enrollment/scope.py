"""Site scope of enrollment: what leads each parameter that names subject data to a site.

Service-wide, beside the app (as notifications' `scope.py`): the parameters belong to several
domains, and the subjects package sits below the dosing one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline.site_scope import ScopedParameter, not_found
from enrollment.dosing.models import DosePreparation, Infusion
from enrollment.subjects import repository as subjects_repository
from enrollment.subjects.models import Subject


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _site_of_row(
    model: type[DosePreparation] | type[Infusion],
) -> Callable[[Session, str], str | None]:
    """The site of the subject a `model` row (by its id) belongs to; None for no such row."""

    def site_of(session: Session, value: str) -> str | None:
        key = _uuid(value)
        if key is None:
            return None
        return session.scalars(
            select(Subject.site_id)
            .join(model, model.subject_id == Subject.id)
            .where(model.id == key)
        ).first()

    return site_of


# Every path or query parameter of the enrollment API that names subject data.
SCOPED_PARAMETERS: Mapping[str, ScopedParameter] = {
    "subject_id": ScopedParameter(subjects_repository.site_of_subject, not_found("subject")),
    "preparation_id": ScopedParameter(_site_of_row(DosePreparation), not_found("dose preparation")),
    "infusion_id": ScopedParameter(_site_of_row(Infusion), not_found("infusion")),
}
