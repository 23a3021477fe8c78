"""Pure dose-finding rules: decisions, dose paths, exact operating characteristics.

Designs: A+B (3+3 and its generalisations), BOIN, i3+3, mTPI-2 and the CRM, all behind one
interface (`DoseFindingDesign`). Also simulation and weight-based dose. Standard library only, so
that the services, a statistician's notebook and a regulator all run the same rules.
"""

from escalation.boin import BOIN
from escalation.characteristics import (
    OperatingCharacteristics,
    StateBudgetError,
    operating_characteristics,
)
from escalation.crm import CRM, getprior
from escalation.design import Design, Variant
from escalation.documents import DesignDocumentError, design_from_document
from escalation.dosing import (
    DoseCalculation,
    DoseRounding,
    InvalidWeightError,
    weight_based_dose,
)
from escalation.history import recommend, replay_by_cohort
from escalation.i3plus3 import I3Plus3
from escalation.interface import DoseFindingDesign
from escalation.mtpi2 import MTPI2
from escalation.notation import Cohort, OutcomeParseError, format_outcomes, parse_outcomes
from escalation.paths import PathBudgetError, PathNode, dose_paths
from escalation.simulation import SimulationResult, simulate
from escalation.state import Decision, DoseTally, InvalidHistoryError, TrialState

__all__ = [
    "BOIN",
    "CRM",
    "MTPI2",
    "Cohort",
    "Decision",
    "Design",
    "DesignDocumentError",
    "DoseCalculation",
    "DoseFindingDesign",
    "DoseRounding",
    "DoseTally",
    "I3Plus3",
    "InvalidHistoryError",
    "InvalidWeightError",
    "OperatingCharacteristics",
    "OutcomeParseError",
    "PathBudgetError",
    "PathNode",
    "SimulationResult",
    "StateBudgetError",
    "TrialState",
    "Variant",
    "design_from_document",
    "dose_paths",
    "format_outcomes",
    "getprior",
    "operating_characteristics",
    "parse_outcomes",
    "recommend",
    "replay_by_cohort",
    "simulate",
    "weight_based_dose",
]
