"""Pure 3+3 dose-escalation rules: decisions, dose paths, exact operating characteristics.

Also simulation and weight-based dose. Standard library only, so that the services, a
statistician's notebook and a regulator all run the same rules.
"""

from escalation.characteristics import OperatingCharacteristics, operating_characteristics
from escalation.design import Design, Variant
from escalation.dosing import (
    DoseCalculation,
    DoseRounding,
    InvalidWeightError,
    weight_based_dose,
)
from escalation.history import recommend
from escalation.notation import Cohort, OutcomeParseError, format_outcomes, parse_outcomes
from escalation.paths import PathNode, dose_paths
from escalation.rules import Decision, DoseTally, InvalidHistoryError
from escalation.simulation import SimulationResult, simulate

__all__ = [
    "Cohort",
    "Decision",
    "Design",
    "DoseCalculation",
    "DoseRounding",
    "DoseTally",
    "InvalidHistoryError",
    "InvalidWeightError",
    "OperatingCharacteristics",
    "OutcomeParseError",
    "PathNode",
    "SimulationResult",
    "Variant",
    "dose_paths",
    "format_outcomes",
    "operating_characteristics",
    "parse_outcomes",
    "recommend",
    "simulate",
    "weight_based_dose",
]
