"""The SDTM metadata of safety's domains (SDTMIG v3.4): AE, SUPPAE and LB.

Each variable names its source in safety's schema ("safety.<table>.<column>") or the rule that
derives it, and the CDISC CT codelist whose submission values it carries; the writers, the
Define-XML document and the mapping table in the docs all read these.
"""

from __future__ import annotations

from doseline.sdtm import Domain, Variable
from doseline.sdtm.standard import (
    collected,
    identifiers,
    measurement_name,
    original_result,
    original_unit,
    standard_results,
    study_day_variable,
    study_id,
    subject_id,
    timing,
    visit_number,
)

NY = "C66742"
ACN = "C66767"
OUT = "C66768"
LBTESTCD = "C65047"
LBTEST = "C67154"
UNIT = "C71620"

_AE_VERSION = "safety.adverse_event_versions"
_TERM = "safety.ctcae_terms"
_FIRST_INFUSION = "safety.subjects.first_infusion_on (RFSTDTC)"


def _flag(name: str, label: str, criterion: str) -> Variable:
    return Variable(
        name,
        label,
        "string",
        "Record Qualifier",
        "Perm",
        f"derived: Y when {_AE_VERSION}.seriousness lists '{criterion}', N when it does not; "
        "null for a non-serious event",
        length=1,
        codelist=NY,
    )


AE = Domain(
    name="AE",
    label="Adverse Events",
    observation_class="Events",
    structure="One record per adverse event per subject",
    keys=("STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESEQ"),
    variables=(
        *identifiers(
            "AE",
            study="safety.adverse_events.trial_id",
            subject="safety.adverse_events.subject_id (the study id, which starts with the trial "
            "id)",
            sequence="derived: 1, 2, ... per subject, in order of onset date, then of report",
            sponsor_id="safety.adverse_events.id",
        ),
        Variable(
            "AETERM",
            "Reported Term for the Adverse Event",
            "string",
            "Topic",
            "Req",
            f"{_AE_VERSION}.term_name, with ' - ' and {_AE_VERSION}.specification for an "
            "'Other, specify' term (its first 200 characters; the rest in SUPPAE AETERM1, ...)",
            length=200,
        ),
        Variable(
            "AELLT",
            "Lowest Level Term",
            "string",
            "Variable Qualifier",
            "Exp",
            f"{_AE_VERSION}.term_name (a CTCAE v5.0 term is a MedDRA lowest level term)",
            length=200,
        ),
        Variable(
            "AELLTCD",
            "Lowest Level Term Code",
            "integer",
            "Variable Qualifier",
            "Exp",
            f"{_AE_VERSION}.term_code (MedDRA code of the CTCAE term)",
        ),
        Variable(
            "AEDECOD",
            "Dictionary-Derived Term",
            "string",
            "Synonym Qualifier",
            "Req",
            f"{_AE_VERSION}.term_name",
            length=200,
        ),
        Variable(
            "AEBODSYS",
            "Body System or Organ Class",
            "string",
            "Record Qualifier",
            "Exp",
            f"{_TERM}.soc_name of the term in its CTCAE version",
            length=200,
        ),
        Variable(
            "AEBDSYCD",
            "Body System or Organ Class Code",
            "integer",
            "Variable Qualifier",
            "Exp",
            f"{_TERM}.soc_code",
        ),
        Variable(
            "AESOC",
            "Primary System Organ Class",
            "string",
            "Variable Qualifier",
            "Exp",
            f"{_TERM}.soc_name",
            length=200,
        ),
        Variable(
            "AESOCCD",
            "Primary System Organ Class Code",
            "integer",
            "Variable Qualifier",
            "Exp",
            f"{_TERM}.soc_code",
        ),
        Variable(
            "AESER",
            "Serious Event",
            "string",
            "Record Qualifier",
            "Exp",
            f"derived: Y when {_AE_VERSION}.seriousness lists a criterion, else N",
            length=1,
            codelist=NY,
        ),
        Variable(
            "AEACN",
            "Action Taken with Study Treatment",
            "string",
            "Record Qualifier",
            "Exp",
            f"{_AE_VERSION}.action_taken as its CT submission value",
            length=20,
            codelist=ACN,
        ),
        Variable(
            "AEREL",
            "Causality",
            "string",
            "Record Qualifier",
            "Exp",
            f"{_AE_VERSION}.attribution: unrelated NOT RELATED, unlikely UNLIKELY RELATED, "
            "possible POSSIBLY RELATED, probable PROBABLY RELATED, definite RELATED",
            length=20,
        ),
        Variable(
            "AEOUT",
            "Outcome of Adverse Event",
            "string",
            "Record Qualifier",
            "Exp",
            f"{_AE_VERSION}.outcome as its CT submission value",
            length=40,
            codelist=OUT,
        ),
        _flag("AESCONG", "Congenital Anomaly or Birth Defect", "congenital_anomaly"),
        _flag("AESDISAB", "Persist or Signif Disability/Incapacity", "disability"),
        _flag("AESDTH", "Results in Death", "death"),
        _flag("AESHOSP", "Requires or Prolongs Hospitalization", "hospitalisation"),
        _flag("AESLIFE", "Is Life Threatening", "life_threatening"),
        _flag("AESMIE", "Other Medically Important Serious Event", "important_medical_event"),
        Variable(
            "AETOXGR",
            "Standard Toxicity Grade",
            "string",
            "Record Qualifier",
            "Exp",
            f"{_AE_VERSION}.grade (the investigator's CTCAE grade, 1 to 5)",
            length=1,
        ),
        collected("AESTDTC", "Start Date/Time of Adverse Event", f"{_AE_VERSION}.onset_date"),
        collected("AEENDTC", "End Date/Time of Adverse Event", f"{_AE_VERSION}.resolution_date"),
        study_day_variable(
            "AESTDY", "Study Day of Start of Adverse Event", "AESTDTC", _FIRST_INFUSION, core="Exp"
        ),
        study_day_variable(
            "AEENDY", "Study Day of End of Adverse Event", "AEENDTC", _FIRST_INFUSION, core="Exp"
        ),
    ),
)

# SUPPAE qualifiers: what an AE carries that has no standard AE variable.
QNAM_DLT = "AEDLT"
QNAM_EXPECTED = "AEEXPCT"
QNAM_PROPOSED_GRADE = "AEPRGR"
QNAM_CTCAE_VERSION = "AECTCV"
QLABELS = {
    QNAM_DLT: "Dose-Limiting Toxicity",
    QNAM_EXPECTED: "Expected per Reference Safety Info",
    QNAM_PROPOSED_GRADE: "Toxicity Grade Proposed by Grading Rules",
    QNAM_CTCAE_VERSION: "CTCAE Version",
}

SUPPAE = Domain(
    name="SUPPAE",
    label="Supplemental Qualifiers for AE",
    observation_class="Relationship",
    structure="One record per supplemental qualifier per adverse event",
    keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
    variables=(
        study_id("safety.adverse_events.trial_id"),
        Variable(
            "RDOMAIN",
            "Related Domain Abbreviation",
            "string",
            "Identifier",
            "Req",
            "derived: AE",
            length=2,
        ),
        subject_id("safety.adverse_events.subject_id"),
        Variable(
            "IDVAR",
            "Identifying Variable",
            "string",
            "Identifier",
            "Exp",
            "derived: AESEQ",
            length=8,
        ),
        Variable(
            "IDVARVAL",
            "Identifying Variable Value",
            "string",
            "Identifier",
            "Exp",
            "derived: the AESEQ of the adverse event",
            length=8,
        ),
        Variable(
            "QNAM",
            "Qualifier Variable Name",
            "string",
            "Topic",
            "Req",
            "derived: AEDLT, AEEXPCT, AEPRGR, AECTCV, or AETERM1, AETERM2, ...",
            length=8,
        ),
        Variable(
            "QLABEL",
            "Qualifier Variable Label",
            "string",
            "Synonym Qualifier",
            "Req",
            "derived: the label of QNAM",
            length=40,
        ),
        Variable(
            "QVAL",
            "Data Value",
            "string",
            "Result Qualifier",
            "Req",
            "AEDLT: derived from safety.dlt_assessments.is_suspected_dlt and "
            "safety.dlt_signatures.decision (Y confirmed, N ruled out or not suspected, U "
            "suspected and not yet adjudicated, or not yet assessed); AEEXPCT: "
            f"{_AE_VERSION}.expected; AEPRGR: "
            f"{_AE_VERSION}.proposed_grade; AECTCV: {_AE_VERSION}.ctcae_version; AETERMn: "
            "the reported term past its first 200 characters",
            length=200,
        ),
        Variable(
            "QORIG",
            "Origin",
            "string",
            "Record Qualifier",
            "Req",
            "derived: Assigned (AEDLT: a signed adjudication), Derived (AEDLT before it, "
            "AEPRGR), CRF (AEEXPCT, AECTCV, AETERMn)",
            length=8,
        ),
        Variable(
            "QEVAL",
            "Evaluator",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: SPONSOR for an adjudicated AEDLT, else null",
            length=20,
        ),
    ),
)

LB = Domain(
    name="LB",
    label="Laboratory Test Results",
    observation_class="Findings",
    structure="One record per lab test per time point per visit per subject",
    keys=("STUDYID", "USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"),
    variables=(
        *identifiers(
            "LB",
            study="safety.subjects.trial_id of the result's subject",
            subject="safety.lab_observations.subject_id",
            sequence="derived: 1, 2, ... per subject, in order of LBDTC, then LBTESTCD, then "
            "Observation id",
            sponsor_id="safety.lab_observations.observation_id (the FHIR Observation id)",
            sponsor_id_length=64,
        ),
        Variable(
            "LBTESTCD",
            "Lab Test or Examination Short Name",
            "string",
            "Topic",
            "Req",
            "derived: CDISC CT test code of the analyte of safety.lab_observations.loinc",
            length=8,
            codelist=LBTESTCD,
        ),
        measurement_name("LB", "Lab Test or Examination Name", codelist=LBTEST),
        Variable(
            "LBCAT",
            "Category for Lab Test",
            "string",
            "Grouping Qualifier",
            "Exp",
            "derived: HEMATOLOGY, CHEMISTRY, COAGULATION or BLOOD GAS by analyte",
            length=20,
        ),
        original_result("LB", "safety.lab_observations.value"),
        original_unit("LB", "safety.lab_observations.unit (UCUM) as its CT unit", codelist=UNIT),
        Variable(
            "LBORNRLO",
            "Reference Range Lower Limit in Orig Unit",
            "string",
            "Variable Qualifier",
            "Exp",
            "not kept: the range a result was graded against is not stored with it",
            length=40,
        ),
        Variable(
            "LBORNRHI",
            "Reference Range Upper Limit in Orig Unit",
            "string",
            "Variable Qualifier",
            "Exp",
            "not kept: the range a result was graded against is not stored with it",
            length=40,
        ),
        *standard_results(
            "LB",
            character="derived: LBORRES (no unit conversion: standard units are the original "
            "units)",
            unit_codelist=UNIT,
        ),
        Variable(
            "LBNRIND",
            "Reference Range Indicator",
            "string",
            "Variable Qualifier",
            "Exp",
            "not kept: needs the reference range, which is not stored with the result",
            length=8,
        ),
        Variable(
            "LBLOINC",
            "LOINC Code",
            "string",
            "Synonym Qualifier",
            "Perm",
            "safety.lab_observations.loinc",
            length=20,
        ),
        Variable(
            "LBTOXGR",
            "Standard Toxicity Grade",
            "string",
            "Variable Qualifier",
            "Exp",
            "safety.lab_observations.grade (CTCAE v5.0 grade of the result)",
            length=1,
        ),
        visit_number(
            "not assigned: a result arrives from the EHR by its collection date, not by a "
            "protocol visit (LBDY places it in the study)"
        ),
        *timing(
            "LB",
            source="safety.lab_observations.effective_on",
            reference=_FIRST_INFUSION,
            dtc_label="Date/Time of Specimen Collection",
            dy_label="Study Day of Specimen Collection",
        ),
    ),
)

DOMAINS = (AE, SUPPAE, LB)
