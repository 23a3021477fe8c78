"""LOINC codes of the pulmonary function observations (OUTCOMES.md §6.1).

OUTCOMES.md §6.1: validate every code against a LOINC release before go-live.
"""

from typing import Final

FEV1: Final = "20150-9"
FEV1_PRE_BRONCHODILATOR: Final = "20157-4"
FEV1_POST_BRONCHODILATOR: Final = "20155-8"
FEV1_PERCENT_PREDICTED: Final = "20152-5"
# "FVC [Volume] Respiratory system", the code of the PFT implementation guide's FVC profile;
# 19868-9 is the "by Spirometry" variant listed alongside it.
FVC: Final = "19870-5"
FVC_BY_SPIROMETRY: Final = "19868-9"
FVC_PRE_BRONCHODILATOR: Final = "19876-2"
FVC_POST_BRONCHODILATOR: Final = "19874-7"
FVC_PERCENT_PREDICTED: Final = "19872-1"
FVC_PRE_PERCENT_PREDICTED: Final = "19871-3"
FVC_POST_PERCENT_PREDICTED: Final = "19873-9"
FEV1_FVC: Final = "19926-5"
DLCO: Final = "19911-7"
DLCO_HAEMOGLOBIN_ADJUSTED: Final = "19913-3"
DLCO_PER_ALVEOLAR_VOLUME: Final = "19916-6"
PFT_PANEL: Final = "81458-2"
SPIROMETRY_PANEL: Final = "81459-0"
