"""The documented maximums every design, history and command accepts, and the work budgets.

Phase I trials have a handful of dose levels, cohorts of one to a few patients and a few dozen
patients; the maximums below are far above any real protocol and far below what would take a
machine down. Inputs beyond them are refused with a message naming the limit, never run.
"""

from __future__ import annotations

# Dose levels in one design.
MAX_DOSE_LEVELS = 100
# Patients in one cohort: A and B of an A+B design, the cohort of BOIN, i3+3, mTPI-2 and CRM.
MAX_COHORT_SIZE = 12
# Cohorts in one trial of a model- or interval-based design, and cohorts ahead in a pathway tree.
MAX_COHORTS = 100
# Patients in one observed trial history (outcome string or cohorts).
MAX_HISTORY_PATIENTS = 1_000
# Simulated trials in one simulation.
MAX_SIMULATED_TRIALS = 10_000_000

# Exact operating characteristics by enumeration hold the trial states of the layers in progress
# and the final states: peak memory over states processed, measured with tracemalloc, was 287
# bytes a state for BOIN (5 levels, 36 patients), 484 for a 3+3 with 8 levels and 651 for the CRM
# (5 levels, 36 patients, with its posterior caches). The budget keeps a run under about 1 GB.
STATE_BYTES = 650
DEFAULT_MAX_STATES = 1_500_000
# Dose-transition pathway trees: nodes built and printed. A node prints as about 0.4 kB of JSON
# with five levels, so the default keeps the output to a few megabytes.
DEFAULT_MAX_PATH_NODES = 10_000
MAX_PATH_NODES = 1_000_000


def require_whole_number(name: str, value: object, *, minimum: int, maximum: int) -> int:
    """``value`` if it is an int (not a bool) within [minimum, maximum]; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, not {value}")
    return value
