"""Every ORM model of the safety service, imported so the metadata knows all tables."""

from safety.adjudication import models as adjudication_models
from safety.adverse_events import models as adverse_events_models
from safety.catalogue import models as catalogue_models
from safety.ehr import models as ehr_models
from safety.icsr import models as icsr_models
from safety.protocols import models as protocols_models
from safety.reference_ranges import models as reference_ranges_models
from safety.subjects import models as subjects_models

__all__ = [
    "adjudication_models",
    "adverse_events_models",
    "catalogue_models",
    "ehr_models",
    "icsr_models",
    "protocols_models",
    "reference_ranges_models",
    "subjects_models",
]
