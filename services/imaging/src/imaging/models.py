"""Every ORM model of the imaging service, imported so the metadata knows all tables."""

from imaging.assessments import models as assessment_models
from imaging.ct_analyses import models as ct_analysis_models
from imaging.protocols import models as protocol_models
from imaging.schedule import models as schedule_models
from imaging.subjects import models as subject_models

__all__ = [
    "assessment_models",
    "ct_analysis_models",
    "protocol_models",
    "schedule_models",
    "subject_models",
]
