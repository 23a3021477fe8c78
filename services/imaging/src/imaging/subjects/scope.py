"""Site scope of imaging's subject data: what leads each parameter to a subject's site."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline.errors import DoselineError, NotFound
from doseline.site_scope import ScopedParameter
from imaging.assessments.models import AssessmentRow
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.subjects import repository
from imaging.subjects.models import SubjectRow


def _site_through(model: Any) -> Callable[[Session, str], str | None]:
    def site_of(session: Session, value: str) -> str | None:
        try:
            key = uuid.UUID(value)
        except ValueError:
            return None
        return session.scalars(
            select(SubjectRow.site_id)
            .join(model, model.subject_id == SubjectRow.subject_id)
            .where(model.id == key)
        ).first()

    return site_of


def subject_not_found(subject_id: str) -> DoselineError:
    return NotFound(
        f"imaging has not received the enrolment of subject {subject_id!r}; check the "
        "study subject id, or retry once the enrolment has arrived"
    )


# Every path or query parameter of the imaging API that names subject data; the errors are the
# ones the endpoints give for data that does not exist.
SCOPED_PARAMETERS: Mapping[str, ScopedParameter] = {
    "subject_id": ScopedParameter(repository.site_of_subject, subject_not_found),
    "assessment_id": ScopedParameter(
        _site_through(AssessmentRow), lambda v: NotFound(f"no assessment {v}")
    ),
    "analysis_id": ScopedParameter(
        _site_through(CtAnalysisRow), lambda v: NotFound(f"no CT analysis {v}")
    ),
}
