"""LOINC codes of the arterial blood gas observations (OUTCOMES.md §6.1).

OUTCOMES.md §6.1: validate every code against a LOINC release before go-live.
"""

from typing import Final

PH_ARTERIAL: Final = "2744-1"
PAO2: Final = "2703-7"
PACO2: Final = "2019-8"
HCO3_ARTERIAL: Final = "1960-4"
BASE_EXCESS_ARTERIAL: Final = "1925-7"
SAO2: Final = "2708-6"
SPO2_PULSE_OXIMETRY: Final = "59408-5"
FIO2: Final = "3150-0"
OXYGEN_FLOW: Final = "3151-8"
PAO2_FIO2_RATIO: Final = "50984-4"
LACTATE_ARTERIAL: Final = "2518-9"
# OUTCOMES.md §6.1: the panel code was only partially visible in one source; unverified.
ARTERIAL_BLOOD_GAS_PANEL: Final = "24336-0"
