"""Every ORM model of the enrollment service, imported so the metadata knows all tables."""

from enrollment.cohorts import models as cohorts_models
from enrollment.deviations import models as deviations_models
from enrollment.dlt_windows import models as dlt_windows_models
from enrollment.dose_orders import models as dose_orders_models
from enrollment.dosing import models as dosing_models
from enrollment.escalation_state import models as escalation_state_models
from enrollment.screening import models as screening_models
from enrollment.subjects import models as subjects_models
from enrollment.trials import models as trials_models
from enrollment.visits import models as visits_models

__all__ = [
    "cohorts_models",
    "deviations_models",
    "dlt_windows_models",
    "dose_orders_models",
    "dosing_models",
    "escalation_state_models",
    "screening_models",
    "subjects_models",
    "trials_models",
    "visits_models",
]
