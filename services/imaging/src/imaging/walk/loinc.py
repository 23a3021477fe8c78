"""LOINC code of the six-minute walk distance (OUTCOMES.md §6.1).

OUTCOMES.md §6.1: validate every code against a LOINC release before go-live.
"""

from typing import Final

# CDISC FT SIXMW106 (C115805) maps to the same code.
SIX_MINUTE_WALK_DISTANCE: Final = "64098-7"
