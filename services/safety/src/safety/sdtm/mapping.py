"""Safety's values as SDTM values: the pure rules of the AE, SUPPAE and LB mappings.

CDISC CT submission values come from the committed codelists (doseline.sdtm.controlled_
terminology); where SDTM has no codelist (AEREL, LBCAT) the values are this study's and the
docs list them (docs/sdtm.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from doseline.sdtm.controlled_terminology import codelist, paired_value
from safety.grading.units import UnknownUnitError, parse_unit
from safety.sdtm.domains import ACN, LBTEST, LBTESTCD, NY, OUT, UNIT

YesNo = Literal["Y", "N"]

# ICH E2A criteria as safety records them -> the AE seriousness flag that carries each one.
SERIOUSNESS_FLAGS: Final[dict[str, str]] = {
    "congenital_anomaly": "AESCONG",
    "disability": "AESDISAB",
    "death": "AESDTH",
    "hospitalisation": "AESHOSP",
    "life_threatening": "AESLIFE",
    "important_medical_event": "AESMIE",
}

# Action taken and outcome are stored as the CT values lower-cased (safety.adverse_events
# .schemas); the NCI term codes pin each to its submission value in the committed codelist.
_ACTION_TERMS: Final[dict[str, str]] = {
    "dose_not_changed": "C49504",
    "dose_reduced": "C49505",
    "drug_interrupted": "C49501",
    "drug_withdrawn": "C49502",
    "not_applicable": "C48660",
    "unknown": "C17998",
}
_OUTCOME_TERMS: Final[dict[str, str]] = {
    "recovered_resolved": "C49498",
    "recovering_resolving": "C49496",
    "not_recovered_not_resolved": "C49494",
    "recovered_resolved_with_sequelae": "C49495",
    "fatal": "C48275",
    "unknown": "C17998",
}

# AEREL has no CDISC codelist: the protocol's five-point attribution scale, as the sponsor's
# values (the Define-XML document lists them).
CAUSALITY: Final[dict[str, str]] = {
    "unrelated": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}

# The grader's analyte (safety/data/loinc/lab_codes.csv) -> the CDISC LBTESTCD term (C65047).
_ANALYTE_TESTS: Final[dict[str, str]] = {
    "hemoglobin": "C64848",  # HGB
    "neutrophils": "C63321",  # NEUT
    "platelets": "C51951",  # PLAT
    "leukocytes": "C51948",  # WBC
    "lymphocytes": "C51949",  # LYM
    "alt": "C64433",  # ALT
    "ast": "C64467",  # AST
    "alp": "C64432",  # ALP
    "ggt": "C64847",  # GGT
    "bilirubin": "C38037",  # BILI
    "creatinine": "C64547",  # CREAT
    "creatine_kinase": "C64489",  # CK
    "lipase": "C117748",  # LIPASET
    "amylase": "C64434",  # AMYLASE
    "ldh": "C64855",  # LDH
    "troponin_i": "C74749",  # TROPONI
    "troponin_t": "C74750",  # TROPONT
    "albumin": "C64431",  # ALB
    "cholesterol": "C105586",  # CHOL
    "triglycerides": "C64812",  # TRIG
    "inr": "C64805",  # INR
    "aptt": "C38462",  # APTT
    "fibrinogen": "C64606",  # FIBRINO
    "potassium": "C64853",  # K
    "sodium": "C64809",  # SODIUM
    "calcium_ionized": "C81948",  # CAION
    "magnesium": "C64840",  # MG
    "glucose": "C105585",  # GLUC
    "urate": "C64814",  # URATE
    "po2_arterial": "C71251",  # PO2
    "oxygen_saturation": "C60832",  # OXYSAT
    "ph_arterial": "C45997",  # PH
}

_CATEGORIES: Final[dict[str, str]] = {
    **dict.fromkeys(
        ("hemoglobin", "neutrophils", "platelets", "leukocytes", "lymphocytes"), "HEMATOLOGY"
    ),
    **dict.fromkeys(("inr", "aptt", "fibrinogen"), "COAGULATION"),
    **dict.fromkeys(("po2_arterial", "oxygen_saturation", "ph_arterial"), "BLOOD GAS"),
}

# The grader's unit (safety.grading.units, by its UCUM code) -> CDISC UNIT (C71620) term. UCUM's
# 10*9/L is CT's 10^9/L (10^3/uL is its synonym), /mm3 is 10^6/L, ng/mL is ug/L; a ratio, INR
# or pH has no unit.
_UNIT_TERMS: Final[dict[str, str | None]] = {
    "10*9/L": "C67255",
    "/mm3": "C67452",
    "g/dL": "C64783",
    "g/L": "C42576",
    "mg/dL": "C67015",
    "mg/L": "C64572",
    "ug/L": "C67306",
    "ng/L": "C67327",
    "mmol/L": "C64387",
    "umol/L": "C48508",
    "meq/L": "C67474",
    "U/L": "C67456",
    "ukat/L": "C67397",
    "Cel": "C42559",
    "[degF]": "C44277",
    "mm[Hg]": "C49670",
    "kPa": "C67284",
    "%": "C25613",
    "1": None,
    "s": "C42535",
    "ms": "C41140",
    "mL": "C28254",
    "L": "C48505",
    "kg": "C28252",
    "mL/min/mm[Hg]": "C67417",
    "mmol/min/kPa": "C116242",
    "g/(24.h)": "C67372",
    "mg/(24.h)": "C67399",
}


def yes_no(value: bool) -> YesNo:
    return "Y" if value else "N"


def ny(value: str) -> str:
    """A value checked against No Yes Response (C66742)."""
    if value not in codelist(NY).values:
        raise ValueError(f"{value!r} is not a No Yes Response value")
    return value


def seriousness(criteria: Sequence[str]) -> dict[str, str | None]:
    """AESER and the six criterion flags: each Y or N for a serious event, null otherwise
    (SDTMIG v3.4 AE assumption 6: the flags qualify a serious event)."""
    serious = bool(criteria)
    unknown = sorted(set(criteria) - set(SERIOUSNESS_FLAGS))
    if unknown:
        raise ValueError(f"unknown seriousness criteria {unknown}")
    flags: dict[str, str | None] = {"AESER": yes_no(serious)}
    for criterion, flag in SERIOUSNESS_FLAGS.items():
        flags[flag] = yes_no(criterion in criteria) if serious else None
    return flags


def action_taken(value: str) -> str:
    return codelist(ACN).value(_ACTION_TERMS[value])


def outcome(value: str) -> str:
    return codelist(OUT).value(_OUTCOME_TERMS[value])


def causality(attribution: str) -> str:
    return CAUSALITY[attribution]


def reported_term(term_name: str, specification: str | None) -> list[str]:
    """The CTCAE term, an 'Other, specify' term with the event's name after it, in pieces of
    at most 200 characters: the first is AETERM, the others SUPPAE's AETERM1, AETERM2, ...
    (SDTMIG v3.4 section 4.5.3.2: text over 200 characters)."""
    text = term_name if specification is None else f"{term_name} - {specification}"
    return [text[start : start + TEXT_WIDTH] for start in range(0, len(text), TEXT_WIDTH)]


TEXT_WIDTH: Final = 200


DltStatus = Literal["confirmed", "ruled_out", "suspected", "not_suspected", "not_assessed"]


def dlt_flag(status: DltStatus) -> tuple[str, str]:
    """AEDLT's value and origin: Y or N once a DLT is adjudicated (or the rules did not suspect
    one); U while the rules suspect one not yet signed off, or have not judged the event yet
    (the subject's DLT window is not known)."""
    match status:
        case "confirmed":
            return ny("Y"), "Assigned"
        case "ruled_out":
            return ny("N"), "Assigned"
        case "suspected" | "not_assessed":
            return ny("U"), "Derived"
        case "not_suspected":
            return ny("N"), "Derived"


def lab_test(analyte: str) -> tuple[str, str] | None:
    """(LBTESTCD, LBTEST) of an analyte; None for one that is not a lab test (temperature, the
    lung function codes the grader also reads)."""
    term = _ANALYTE_TESTS.get(analyte)
    if term is None:
        return None
    test_code = codelist(LBTESTCD).value(term)
    return test_code, paired_value(LBTESTCD, LBTEST, test_code)


def lab_category(analyte: str) -> str:
    return _CATEGORIES.get(analyte, "CHEMISTRY")


def unit(received: str) -> str | None:
    """The CT unit of a unit as the laboratory spelt it (UCUM or a common spelling, as the
    grader reads it); one CT does not list is kept as received (UNIT is extensible)."""
    try:
        code = parse_unit(received).code
    except UnknownUnitError:
        return received
    if code not in _UNIT_TERMS:
        return received
    term = _UNIT_TERMS[code]
    return None if term is None else codelist(UNIT).value(term)
