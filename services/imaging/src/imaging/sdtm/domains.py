"""The SDTM metadata of imaging's domains (SDTMIG v3.4): RE, FT, QS and LB (blood gas).

All four are Findings domains read from `imaging.assessments` (one row per test performed; its
`inputs` are what was measured or answered, its `metrics` the headline numbers); each variable
names its source there or the rule that derives it. LB holds arterial blood gas results only;
safety's LB (lab results from the hospital) has the same metadata where the two meet, so the
study package writes both as one LB (doseline.sdtm.merge).
"""

from __future__ import annotations

from doseline.sdtm import Domain, Variable
from doseline.sdtm.standard import (
    identifiers,
    measurement_name,
    original_result,
    original_unit,
    standard_results,
    timing,
    visit_name,
    visit_number,
)

RETESTCD = "C111106"
RETEST = "C111107"
SIXMW1TC = "C115388"
SIXMW1TN = "C115387"
FTCAT = "C115304"
QSCAT = "C100129"
LBTESTCD = "C65047"
LBTEST = "C67154"
UNIT = "C71620"
SPECTYPE = "C78734"

_ROW = "imaging.assessments"
_FIRST_INFUSION = "imaging.subjects.first_infusion_on (RFSTDTC)"


def _identifiers(prefix: str, kind: str) -> tuple[Variable, ...]:
    return identifiers(
        prefix,
        study=f"{_ROW}.trial_id",
        subject=f"{_ROW}.subject_id (the study id, which starts with the trial id)",
        sequence=f"derived: 1, 2, ... per subject, in order of {prefix}DTC, then {prefix}TESTCD",
        sponsor_id=f"{_ROW}.id of the {kind} assessment",
    )


def _timing(
    prefix: str,
    dtc_label: str = "Date/Time of Collection",
    dy_label: str = "Study Day of Visit/Collection/Exam",
) -> tuple[Variable, ...]:
    return (
        visit_number(
            f"derived: the number of {_ROW}.visit in the protocol version in force at "
            f"{prefix}DTC (doseline.sdtm.visits: screening 1, baseline 2, infusion n 2 + n, then "
            "the follow-ups in order), as enrollment's TV numbers it"
        ),
        visit_name(f"{_ROW}.visit (the protocol's visit id) in capitals"),
        *timing(
            prefix,
            source=f"{_ROW}.performed_on (the site's calendar day of the test)",
            reference=_FIRST_INFUSION,
            dtc_label=dtc_label,
            dy_label=dy_label,
        ),
    )


def _results(prefix: str, source: str, *, numeric: bool = True) -> tuple[Variable, ...]:
    if not numeric:
        return (original_result(prefix, source), *standard_results(prefix))
    return (
        original_result(prefix, source),
        original_unit(prefix, "derived: the CT unit of the value as recorded", codelist=UNIT),
        *standard_results(prefix, unit_codelist=UNIT),
    )


RE = Domain(
    name="RE",
    label="Respiratory System Findings",
    observation_class="Findings",
    structure="One record per finding or result per time point per visit per subject",
    keys=("STUDYID", "USUBJID", "RETESTCD", "REDTC", "RESEQ"),
    variables=(
        *_identifiers("RE", "pft"),
        Variable(
            "RETESTCD",
            "Short Name of Respiratory Test",
            "string",
            "Topic",
            "Req",
            "derived: FEV1, FVC, FEV1FVC, DLCO, FEV1PP, FVCPP or DLCOPP by the value's name in "
            f"{_ROW}.metrics of a pft assessment",
            length=8,
            codelist=RETESTCD,
        ),
        measurement_name("RE", "Name of Respiratory Test", codelist=RETEST),
        *_results(
            "RE",
            f"{_ROW}.metrics: fev1_l, fvc_l, fev1_fvc, dlco (in inputs.dlco_unit), "
            "fev1/fvc/dlco_percent_predicted (GLI, computed here), else "
            "fev1/fvc_percent_predicted_reported (the laboratory's own)",
        ),
        Variable(
            "REDRVFL",
            "Derived Flag",
            "string",
            "Record Qualifier",
            "Perm",
            "derived: Y for a value computed here (GLI % predicted, FEV1/FVC from FEV1 and FVC)",
            length=1,
            codelist="C66742",
        ),
        *_timing("RE"),
    ),
)

FT = Domain(
    name="FT",
    label="Functional Tests",
    observation_class="Findings",
    structure="One record per Functional Test (FT) question per time point per visit per subject",
    keys=("STUDYID", "USUBJID", "FTCAT", "FTTESTCD", "FTDTC", "FTSEQ"),
    variables=(
        *_identifiers("FT", "walk"),
        Variable(
            "FTTESTCD",
            "Short Name of Test",
            "string",
            "Topic",
            "Req",
            "derived: SIXMW106 (6MWT distance at 6 minutes)",
            length=8,
            codelist=SIXMW1TC,
        ),
        measurement_name("FT", "Name of Test", codelist=SIXMW1TN),
        Variable(
            "FTCAT",
            "Category",
            "string",
            "Grouping Qualifier",
            "Exp",
            "derived: SIX MINUTE WALK",
            length=40,
            codelist=FTCAT,
        ),
        *_results("FT", f"{_ROW}.inputs.distance_m of a walk assessment"),
        *_timing("FT", "Date/Time of Test"),
    ),
)

QS = Domain(
    name="QS",
    label="Questionnaires",
    observation_class="Findings",
    structure="One record per questionnaire per question per time point per visit per subject",
    keys=("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "QSDTC", "QSSEQ"),
    variables=(
        *_identifiers("QS", "sgrq"),
        Variable(
            "QSTESTCD",
            "Question Short Name",
            "string",
            "Topic",
            "Req",
            "derived: the SGRQ01 (SGRQ) or SGRQC1 (SGRQ-C) code of the item in "
            f"{_ROW}.inputs.responses, by the item's place on the form",
            length=8,
        ),
        measurement_name("QS", "Question Name"),
        Variable(
            "QSCAT",
            "Category of Question",
            "string",
            "Grouping Qualifier",
            "Req",
            f"derived: SGRQ PAST 3 MONTHS VERSION or SGRQ-C by {_ROW}.inputs.instrument",
            length=40,
            codelist=QSCAT,
        ),
        *_results(
            "QS",
            f"{_ROW}.inputs.responses: the printed option's position, or TRUE/FALSE",
            numeric=False,
        ),
        *_timing("QS", "Date/Time of Finding"),
    ),
)

LB = Domain(
    name="LB",
    label="Laboratory Test Results",
    observation_class="Findings",
    structure="One record per lab test per time point per visit per subject",
    keys=("STUDYID", "USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"),
    variables=(
        *_identifiers("LB", "blood_gas"),
        Variable(
            "LBTESTCD",
            "Lab Test or Examination Short Name",
            "string",
            "Topic",
            "Req",
            "derived: PH, PO2, PCO2, BICARB, BASEEXCS or OXYSAT by the value's name in "
            f"{_ROW}.inputs of a blood_gas assessment",
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
            "derived: BLOOD GAS",
            length=20,
        ),
        *_results(
            "LB",
            f"{_ROW}.inputs: ph, pao2 and paco2 (in inputs.pressure_unit), hco3_mmol_l, "
            "base_excess_mmol_l, sao2_percent",
        ),
        Variable(
            "LBLOINC",
            "LOINC Code",
            "string",
            "Synonym Qualifier",
            "Perm",
            "derived: the arterial blood gas LOINC code of the test (imaging.blood_gas.loinc)",
            length=20,
        ),
        Variable(
            "LBSPEC",
            "Specimen Type",
            "string",
            "Record Qualifier",
            "Perm",
            "derived: ARTERIAL BLOOD",
            length=20,
            codelist=SPECTYPE,
        ),
        *_timing("LB", "Date/Time of Specimen Collection", "Study Day of Specimen Collection"),
    ),
)

DOMAINS = (RE, FT, QS, LB)
