"""Which CTCAE lab grading applies to a LOINC-coded FHIR Observation.

One LOINC analyte can feed several CTCAE terms (potassium: Hyperkalemia and Hypokalemia); the
grader grades each and the highest grade proposes the adverse event. Codes are LOINC (loinc.org)
"Component [Property] in System" entries for the blood tests of CTCAE-LAB-GRADING.md, plus the
grader's own codes for blood gases and PFTs (OUTCOMES.md §6.1). As OUTCOMES.md says for every
code, validate them against the hospital's LOINC release before go-live; an unmapped code is
rejected, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from safety.grading.lab import LOINC_TO_TERM
from safety.grading.lab_criteria import LabTerm

LOINC_SYSTEM: Final = "http://loinc.org"

_L = LabTerm

LOINC_TO_LAB_TERMS: Final[Mapping[str, tuple[LabTerm, ...]]] = MappingProxyType(
    {
        # Blood gases, oximetry and PFTs: the grader's codes, confirmed in OUTCOMES.md §6.1.
        **LOINC_TO_TERM,
        # Haematology
        "718-7": (_L.ANEMIA,),  # Hemoglobin [Mass/volume] in Blood
        "751-8": (_L.NEUTROPHIL_COUNT_DECREASED,),  # Neutrophils [#/volume] in Blood, automated
        "26499-4": (_L.NEUTROPHIL_COUNT_DECREASED,),  # Neutrophils [#/volume] in Blood
        "777-3": (_L.PLATELET_COUNT_DECREASED,),  # Platelets [#/volume] in Blood, automated
        "26515-7": (_L.PLATELET_COUNT_DECREASED,),  # Platelets [#/volume] in Blood
        "6690-2": (_L.WHITE_BLOOD_CELL_DECREASED, _L.LEUKOCYTOSIS),  # Leukocytes, automated
        "26464-8": (_L.WHITE_BLOOD_CELL_DECREASED, _L.LEUKOCYTOSIS),  # Leukocytes [#/volume]
        "731-0": (_L.LYMPHOCYTE_COUNT_DECREASED, _L.LYMPHOCYTE_COUNT_INCREASED),  # automated
        "26474-7": (_L.LYMPHOCYTE_COUNT_DECREASED, _L.LYMPHOCYTE_COUNT_INCREASED),
        # Chemistry
        "1742-6": (_L.ALANINE_AMINOTRANSFERASE_INCREASED,),  # ALT [Enzymatic activity/volume]
        "1920-8": (_L.ASPARTATE_AMINOTRANSFERASE_INCREASED,),  # AST
        "6768-6": (_L.ALKALINE_PHOSPHATASE_INCREASED,),  # Alkaline phosphatase
        "2324-2": (_L.GGT_INCREASED,),  # Gamma glutamyl transferase
        "1975-2": (_L.BLOOD_BILIRUBIN_INCREASED,),  # Bilirubin.total [Mass/volume]
        "2160-0": (_L.CREATININE_INCREASED,),  # Creatinine [Mass/volume] in Serum or Plasma
        "2157-6": (_L.CPK_INCREASED,),  # Creatine kinase
        "3040-3": (_L.LIPASE_INCREASED,),  # Lipase
        "1798-8": (_L.SERUM_AMYLASE_INCREASED,),  # Amylase
        "2532-0": (_L.BLOOD_LACTATE_DEHYDROGENASE_INCREASED,),  # Lactate dehydrogenase
        # Troponins: the assay's myocardial-infarction cut-off comes with the result as the fact
        # `mi_level` (a component in urn:doseline:ctcae-fact), since it is the manufacturer's.
        "10839-9": (_L.CARDIAC_TROPONIN_I_INCREASED,),  # Troponin I.cardiac [Mass/volume]
        "89579-7": (_L.CARDIAC_TROPONIN_I_INCREASED,),  # Troponin I.cardiac, high sensitivity
        "6598-7": (_L.CARDIAC_TROPONIN_T_INCREASED,),  # Troponin T.cardiac [Mass/volume]
        "67151-1": (_L.CARDIAC_TROPONIN_T_INCREASED,),  # Troponin T.cardiac, high sensitivity
        "1751-7": (_L.HYPOALBUMINEMIA,),  # Albumin [Mass/volume] in Serum or Plasma
        "2093-3": (_L.CHOLESTEROL_HIGH,),  # Cholesterol [Mass/volume] in Serum or Plasma
        "2571-8": (_L.HYPERTRIGLYCERIDEMIA,),  # Triglyceride [Mass/volume]
        # Coagulation
        "6301-6": (_L.INR_INCREASED,),  # INR in Platelet poor plasma by Coagulation assay
        "3173-2": (_L.ACTIVATED_PARTIAL_THROMBOPLASTIN_TIME_PROLONGED,),  # aPTT in Blood
        "3255-7": (_L.FIBRINOGEN_DECREASED,),  # Fibrinogen [Mass/volume] in PPP
        # Electrolytes
        "2823-3": (_L.HYPERKALEMIA, _L.HYPOKALEMIA),  # Potassium [Moles/volume] in Serum/Plasma
        "2951-2": (_L.HYPERNATREMIA, _L.HYPONATREMIA),  # Sodium [Moles/volume] in Serum/Plasma
        "19123-9": (_L.HYPERMAGNESEMIA, _L.HYPOMAGNESEMIA),  # Magnesium [Mass/volume]
        "2601-3": (_L.HYPERMAGNESEMIA, _L.HYPOMAGNESEMIA),  # Magnesium [Moles/volume]
        "2345-7": (_L.HYPOGLYCEMIA,),  # Glucose [Mass/volume] in Serum or Plasma
        "3084-1": (_L.HYPERURICEMIA,),  # Urate [Mass/volume] in Serum or Plasma
        # Vital signs
        "8310-5": (_L.FEVER, _L.HYPOTHERMIA),  # Body temperature
    }
)


def lab_terms_for(codes: list[str]) -> tuple[str, tuple[LabTerm, ...]] | None:
    """The first LOINC code with a CTCAE grading, and the lab terms it feeds."""
    for code in codes:
        terms = LOINC_TO_LAB_TERMS.get(code)
        if terms is not None:
            return code, terms
    return None
