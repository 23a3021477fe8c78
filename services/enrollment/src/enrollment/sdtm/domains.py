"""The SDTM metadata of enrollment's domains (SDTMIG 3.4): each variable, where it comes from.

`source` names the enrollment field a value is read from, or the rule ("derived: ...",
"protocol: ...", "assigned: ...") that gives it; the Define-XML origins and the mapping table
in docs/sdtm.md are written from it. Codelists are CDISC CT codelist codes, each committed in
doseline/sdtm/terminology/ (doseline.sdtm.controlled_terminology).

Exposure is in two domains, as SDTMIG 3.4 separates them: EC holds what the pharmacist records
(the number of cells given), EX the dose in the protocol's unit (cells per kg of the dosing
weight), one record per infusion in each, so exposure is never counted twice.
"""

from __future__ import annotations

from doseline.sdtm import Core, DataType, Domain, Role, Variable
from doseline.sdtm.standard import (
    collected,
    identifiers,
    planned_visit_day,
    study_day_variable,
    visit_name,
    visit_number,
)

NY = "C66742"
SEX = "C66731"
AGEU = "C66781"
EPOCH = "C99079"
DSCAT = "C74558"
ROUTE = "C66729"
UNIT = "C71620"
VSTESTCD = "C66741"
VSTEST = "C67153"
VSRESU = "C66770"
TSPARMCD = "C66738"
TPHASE_CODELIST = "C66737"
STYPE_CODELIST = "C99077"
TBLIND_CODELIST = "C66735"
TSPARM = "C67152"


def _v(
    name: str,
    label: str,
    data_type: DataType,
    role: Role,
    core: Core,
    source: str,
    length: int | None = None,
    codelist: str | None = None,
) -> Variable:
    return Variable(name, label, data_type, role, core, source, length, codelist)


_STUDY = "assigned: the trial code (enrollment.trials.id)"
_SUBJECT = "assigned: enrollment.subjects.id, STUDYID-subject number (never a hospital id)"
_RFSTDTC = "RFSTDTC (doseline.sdtm.study_day: no day 0)"


def _identifiers(
    domain: str, *, subject: bool = True, order: str | None = None
) -> tuple[Variable, ...]:
    """STUDYID and DOMAIN, USUBJID of a subject-level domain, --SEQ in `order`."""
    return identifiers(
        domain,
        study=_STUDY,
        subject=_SUBJECT if subject else None,
        subject_length=60,
        sequence=f"derived: {order}" if order else None,
        rule="assigned",
    )


def _epoch() -> Variable:
    return _v(
        "EPOCH",
        "Epoch",
        "string",
        "Timing",
        "Perm",
        "derived: SCREENING before the first infusion, TREATMENT up to the last infusion, "
        "FOLLOW-UP after it",
        20,
        EPOCH,
    )


DM = Domain(
    "DM",
    "Demographics",
    "Special-Purpose",
    "One record per subject",
    ("STUDYID", "USUBJID"),
    (
        *_identifiers("DM"),
        _v(
            "SUBJID",
            "Subject Identifier for the Study",
            "string",
            "Topic",
            "Req",
            "assigned: enrollment.subjects.number (three digits)",
            10,
        ),
        _v(
            "RFSTDTC",
            "Subject Reference Start Date/Time",
            "datetime",
            "Record Qualifier",
            "Exp",
            "enrollment.infusions.started_at (first given infusion, site time)",
        ),
        _v(
            "RFENDTC",
            "Subject Reference End Date/Time",
            "datetime",
            "Record Qualifier",
            "Exp",
            "derived: end of the last given infusion (RFXENDTC)",
        ),
        _v(
            "RFXSTDTC",
            "Date/Time of First Study Treatment",
            "datetime",
            "Record Qualifier",
            "Exp",
            "enrollment.infusions.started_at (first given infusion, site time)",
        ),
        _v(
            "RFXENDTC",
            "Date/Time of Last Study Treatment",
            "datetime",
            "Record Qualifier",
            "Exp",
            "enrollment.infusions.ended_at (last given infusion; its start if no end)",
        ),
        _v(
            "RFICDTC",
            "Date/Time of Informed Consent",
            "date",
            "Record Qualifier",
            "Exp",
            "enrollment.subjects.consent_signed_on",
        ),
        _v(
            "RFPENDTC",
            "Date/Time of End of Participation",
            "date",
            "Record Qualifier",
            "Exp",
            "derived: latest of consent, screening, infusion, weight, visit and withdrawal "
            "dates at the data cut",
        ),
        _v(
            "DTHDTC",
            "Date/Time of Death",
            "date",
            "Record Qualifier",
            "Exp",
            "enrollment.subject_withdrawals.effective_on (reason death)",
        ),
        _v(
            "DTHFL",
            "Subject Death Flag",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: Y when withdrawn for death, else null",
            1,
            NY,
        ),
        _v(
            "SITEID",
            "Study Site Identifier",
            "string",
            "Record Qualifier",
            "Req",
            "enrollment.subjects.site_id",
            40,
        ),
        _v(
            "AGE",
            "Age",
            "integer",
            "Record Qualifier",
            "Exp",
            "derived: whole years from enrollment.screenings.birth_date to RFICDTC; else the "
            "age answered to the protocol's age criterion",
        ),
        _v(
            "AGEU",
            "Age Units",
            "string",
            "Variable Qualifier",
            "Exp",
            "derived: YEARS when AGE is known",
            6,
            AGEU,
        ),
        _v(
            "SEX",
            "Sex",
            "string",
            "Record Qualifier",
            "Req",
            "enrollment.screenings.sex (latest screening; U when not recorded)",
            1,
            SEX,
        ),
        _v(
            "RACE",
            "Race",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: not collected by Doseline (null)",
            1,
        ),
        _v(
            "ARMCD",
            "Planned Arm Code",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: DL<n> from enrollment.enrolments.dose_level",
            20,
        ),
        _v(
            "ARM",
            "Description of Planned Arm",
            "string",
            "Synonym Qualifier",
            "Exp",
            "derived: the protocol's dose level (protocol dose_escalation.dose_levels)",
            200,
        ),
        _v(
            "ACTARMCD",
            "Actual Arm Code",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: DL<n> from enrollment.dose_preparations.dose_level of the first given "
            "infusion",
            20,
        ),
        _v(
            "ACTARM",
            "Description of Actual Arm",
            "string",
            "Synonym Qualifier",
            "Exp",
            "derived: the protocol's dose level actually given",
            200,
        ),
        _v(
            "ARMNRS",
            "Reason Arm and/or Actual Arm is Null",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: SCREEN FAILURE, NOT ASSIGNED or ASSIGNED, NOT TREATED",
            30,
        ),
        _v(
            "COUNTRY",
            "Country",
            "string",
            "Record Qualifier",
            "Req",
            "protocol: sites[].country as ISO 3166-1 alpha-3",
            3,
        ),
        collected(
            "DMDTC",
            "Date/Time of Collection",
            "enrollment.screenings.screened_on (latest screening)",
            core="Perm",
        ),
        study_day_variable("DMDY", "Study Day of Collection", "DMDTC", _RFSTDTC),
    ),
)

DS = Domain(
    "DS",
    "Disposition",
    "Events",
    "One record per disposition status or protocol milestone per subject",
    ("STUDYID", "USUBJID", "DSSTDTC", "DSDECOD"),
    (
        *_identifiers("DS", order="order of DSSTDTC, DSDECOD within the subject"),
        _v(
            "DSTERM",
            "Reported Term for the Disposition Event",
            "string",
            "Topic",
            "Req",
            "derived: consent, eligibility sign-off, enrolment, withdrawal reason or completion",
            200,
        ),
        _v(
            "DSDECOD",
            "Standardized Disposition Term",
            "string",
            "Synonym Qualifier",
            "Req",
            "derived: CDISC CT term of DSTERM (NCOMPLT for dispositions, Protocol Milestone "
            "for milestones)",
            60,
        ),
        _v(
            "DSCAT",
            "Category for Disposition Event",
            "string",
            "Grouping Qualifier",
            "Exp",
            "derived: PROTOCOL MILESTONE or DISPOSITION EVENT",
            20,
            DSCAT,
        ),
        _epoch(),
        collected(
            "DSSTDTC",
            "Start Date/Time of Disposition Event",
            "enrollment.subjects.consent_signed_on, screenings.signed_off_at, "
            "enrolments.enrolled_at, subject_withdrawals.effective_on, visit_records.visit_date",
        ),
        study_day_variable(
            "DSSTDY", "Study Day of Start of Disposition Event", "DSSTDTC", _RFSTDTC
        ),
    ),
)


def _exposure(prefix: str, label: str, structure: str, dose_source: str, unit: str) -> Domain:
    name = prefix
    return Domain(
        name,
        label,
        "Interventions",
        structure,
        ("STUDYID", "USUBJID", f"{prefix}TRT", f"{prefix}STDTC"),
        (
            *_identifiers(name, order="infusion number"),
            _v(
                f"{prefix}TRT",
                "Name of Treatment",
                "string",
                "Topic",
                "Req",
                "protocol: trial.product (short name HDMSC)",
                20,
            ),
            _v(f"{prefix}DOSE", "Dose", "float", "Record Qualifier", "Exp", dose_source),
            _v(
                f"{prefix}DOSU",
                "Dose Units",
                "string",
                "Variable Qualifier",
                "Exp",
                f"assigned: {unit}",
                20,
                UNIT,
            ),
            _v(
                f"{prefix}ROUTE",
                "Route of Administration",
                "string",
                "Variable Qualifier",
                "Perm",
                "protocol: trial.route",
                20,
                ROUTE,
            ),
            _v(
                f"{prefix}LOT",
                "Lot Number",
                "string",
                "Record Qualifier",
                "Perm",
                "enrollment.infusions.product_lot",
                80,
            ),
            _v(
                f"{prefix}ADJ",
                "Reason for Dose Adjustment",
                "string",
                "Record Qualifier",
                "Perm",
                "derived: dose reduced by a dose order, or the infusion interrupted "
                "short (enrollment.dose_preparations.percent_of_dose, infusions.full_dose)",
                200,
            ),
            visit_number("derived: the infusion's visit (TV)"),
            visit_name("derived: INFUSION <n>"),
            _epoch(),
            collected(
                f"{prefix}STDTC",
                "Start Date/Time of Treatment",
                "enrollment.infusions.started_at (site time)",
                data_type="datetime",
            ),
            collected(
                f"{prefix}ENDTC",
                "End Date/Time of Treatment",
                "enrollment.infusions.ended_at (site time)",
                data_type="datetime",
            ),
            study_day_variable(
                f"{prefix}STDY", "Study Day of Start of Treatment", f"{prefix}STDTC", _RFSTDTC
            ),
            study_day_variable(
                f"{prefix}ENDY", "Study Day of End of Treatment", f"{prefix}ENDTC", _RFSTDTC
            ),
        ),
    )


EX = _exposure(
    "EX",
    "Exposure",
    "One record per infusion per subject",
    "enrollment.infusions.dose_given_per_kg (cells per kg of the dosing weight)",
    "cells/kg",
)
EC = _exposure(
    "EC",
    "Exposure as Collected",
    "One record per infusion per subject",
    "enrollment.infusions.dose_given_cells (cells given, as recorded)",
    "cells",
)

SV = Domain(
    "SV",
    "Subject Visits",
    "Special-Purpose",
    "One record per actual visit per subject",
    ("STUDYID", "USUBJID", "VISITNUM"),
    (
        *_identifiers("SV"),
        _v("VISITNUM", "Visit Number", "float", "Topic", "Req", "derived: the visit's TV number"),
        _v(
            "VISIT",
            "Visit Name",
            "string",
            "Synonym Qualifier",
            "Exp",
            "derived: SCREENING, INFUSION <n>, or the protocol's visit id in capitals",
            40,
        ),
        planned_visit_day("protocol: infusions.days (infusion visits)"),
        _epoch(),
        collected(
            "SVSTDTC",
            "Start Date/Time of Visit",
            "enrollment.screenings.screened_on, infusions.site_date, visit_records.visit_date",
        ),
        collected(
            "SVENDTC",
            "End Date/Time of Visit",
            "derived: the visit's day (SVSTDTC)",
        ),
        study_day_variable("SVSTDY", "Study Day of Start of Visit", "SVSTDTC", _RFSTDTC),
        study_day_variable("SVENDY", "Study Day of End of Visit", "SVENDTC", _RFSTDTC),
    ),
)

VS = Domain(
    "VS",
    "Vital Signs",
    "Findings",
    "One record per vital sign measurement per time point per subject",
    # VSSEQ last: two weights may be measured on one day (a re-weighing)
    ("STUDYID", "USUBJID", "VSTESTCD", "VSDTC", "VSSEQ"),
    (
        *_identifiers("VS", order="measurement day within the subject"),
        _v(
            "VSTESTCD",
            "Vital Signs Test Short Name",
            "string",
            "Topic",
            "Req",
            "assigned: WEIGHT",
            8,
            VSTESTCD,
        ),
        _v(
            "VSTEST",
            "Vital Signs Test Name",
            "string",
            "Synonym Qualifier",
            "Req",
            "assigned: Weight",
            40,
            VSTEST,
        ),
        _v(
            "VSORRES",
            "Result or Finding in Original Units",
            "string",
            "Result Qualifier",
            "Exp",
            "enrollment.weight_measurements.weight_kg",
            20,
        ),
        _v(
            "VSORRESU",
            "Original Units",
            "string",
            "Variable Qualifier",
            "Exp",
            "assigned: kg",
            8,
            VSRESU,
        ),
        _v(
            "VSSTRESC",
            "Character Result/Finding in Std Format",
            "string",
            "Result Qualifier",
            "Exp",
            "derived: VSORRES",
            20,
        ),
        _v(
            "VSSTRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            "Result Qualifier",
            "Exp",
            "enrollment.weight_measurements.weight_kg",
        ),
        _v(
            "VSSTRESU",
            "Standard Units",
            "string",
            "Variable Qualifier",
            "Exp",
            "assigned: kg",
            8,
            VSRESU,
        ),
        _v(
            "VSBLFL",
            "Baseline Flag",
            "string",
            "Record Qualifier",
            "Exp",
            "derived: Y on the last weight on or before the first infusion",
            1,
            NY,
        ),
        _epoch(),
        collected(
            "VSDTC",
            "Date/Time of Measurements",
            "enrollment.weight_measurements.measured_on",
        ),
        study_day_variable("VSDY", "Study Day of Vital Signs", "VSDTC", _RFSTDTC),
    ),
)

TA = Domain(
    "TA",
    "Trial Arms",
    "Trial Design",
    "One record per planned Element per Arm",
    ("STUDYID", "ARMCD", "TAETORD"),
    (
        *_identifiers("TA", subject=False),
        _v(
            "ARMCD",
            "Planned Arm Code",
            "string",
            "Topic",
            "Req",
            "protocol: dose_escalation.dose_levels[].level as DL<n>",
            20,
        ),
        _v(
            "ARM",
            "Description of Planned Arm",
            "string",
            "Synonym Qualifier",
            "Req",
            "protocol: dose_escalation.dose_levels[].per_kg",
            200,
        ),
        _v(
            "TAETORD",
            "Planned Order of Element within Arm",
            "integer",
            "Timing",
            "Req",
            "protocol: screening, treatment, follow-up",
        ),
        _v(
            "ETCD",
            "Element Code",
            "string",
            "Record Qualifier",
            "Req",
            "protocol: SCRN, DL<n>, FU",
            8,
        ),
        _v(
            "ELEMENT",
            "Description of Element",
            "string",
            "Synonym Qualifier",
            "Perm",
            "protocol: element description (TE)",
            200,
        ),
        _v(
            "TABRANCH",
            "Branch",
            "string",
            "Rule",
            "Exp",
            "protocol: none (dose levels are assigned by escalation, not randomised)",
            1,
        ),
        _v(
            "TATRANS",
            "Transition Rule",
            "string",
            "Rule",
            "Exp",
            "protocol: none (elements follow in order)",
            1,
        ),
        _v(
            "EPOCH",
            "Epoch",
            "string",
            "Timing",
            "Req",
            "protocol: SCREENING, TREATMENT, FOLLOW-UP",
            20,
            EPOCH,
        ),
    ),
)

TE = Domain(
    "TE",
    "Trial Elements",
    "Trial Design",
    "One record per planned Element",
    ("STUDYID", "ETCD"),
    (
        *_identifiers("TE", subject=False),
        _v("ETCD", "Element Code", "string", "Topic", "Req", "protocol: SCRN, DL<n>, FU", 8),
        _v(
            "ELEMENT",
            "Description of Element",
            "string",
            "Synonym Qualifier",
            "Req",
            "protocol: dose_escalation.dose_levels, infusions, visits",
            200,
        ),
        _v(
            "TESTRL",
            "Rule for Start of Element",
            "string",
            "Rule",
            "Req",
            "protocol: infusions, visits",
            200,
        ),
        _v(
            "TEENRL",
            "Rule for End of Element",
            "string",
            "Rule",
            "Perm",
            "protocol: infusions, visits",
            200,
        ),
        _v(
            "TEDUR",
            "Planned Duration of Element",
            "string",
            "Timing",
            "Perm",
            "protocol: infusions.days (ISO 8601 duration)",
            20,
        ),
    ),
)

TV = Domain(
    "TV",
    "Trial Visits",
    "Trial Design",
    "One record per planned Visit per Arm",
    ("STUDYID", "VISITNUM"),
    (
        *_identifiers("TV", subject=False),
        _v(
            "VISITNUM",
            "Visit Number",
            "float",
            "Topic",
            "Req",
            "protocol: screening, baseline, infusions, visits.follow_up in order",
        ),
        _v(
            "VISIT",
            "Visit Name",
            "string",
            "Synonym Qualifier",
            "Perm",
            "protocol: visit id in capitals, INFUSION <n>",
            40,
        ),
        planned_visit_day("protocol: infusions.days"),
        _v(
            "ARMCD",
            "Planned Arm Code",
            "string",
            "Record Qualifier",
            "Exp",
            "protocol: every arm has the same visits (null)",
            20,
        ),
        _v(
            "TVSTRL",
            "Visit Start Rule",
            "string",
            "Rule",
            "Req",
            "protocol: visits (labels and windows), infusions.window",
            200,
        ),
        _v(
            "TVENRL",
            "Visit End Rule",
            "string",
            "Rule",
            "Perm",
            "protocol: the visit's window",
            200,
        ),
    ),
)

TI = Domain(
    "TI",
    "Trial Inclusion/Exclusion Criteria",
    "Trial Design",
    "One record per I/E criterion",
    ("STUDYID", "IETESTCD", "TIVERS"),
    (
        *_identifiers("TI", subject=False),
        _v(
            "IETESTCD",
            "Incl/Excl Criterion Short Name",
            "string",
            "Topic",
            "Req",
            "protocol: eligibility criterion id without hyphens (INC-01 -> INC01)",
            8,
        ),
        _v(
            "IETEST",
            "Inclusion/Exclusion Criterion",
            "string",
            "Synonym Qualifier",
            "Req",
            "protocol: eligibility criterion text (with its bounds)",
            200,
        ),
        _v(
            "IECAT",
            "Inclusion/Exclusion Category",
            "string",
            "Grouping Qualifier",
            "Req",
            "protocol: INCLUSION or EXCLUSION",
            10,
        ),
        _v(
            "TIVERS",
            "Protocol Criteria Versions",
            "string",
            "Record Qualifier",
            "Perm",
            "protocol: protocol.version",
            20,
        ),
    ),
)

TS = Domain(
    "TS",
    "Trial Summary",
    "Trial Design",
    "One record per trial summary parameter value",
    ("STUDYID", "TSPARMCD", "TSSEQ"),
    (
        *_identifiers("TS", subject=False, order="order of the values of one parameter"),
        _v(
            "TSPARMCD",
            "Trial Summary Parameter Short Name",
            "string",
            "Topic",
            "Req",
            "assigned: CDISC TSPARMCD",
            8,
            TSPARMCD,
        ),
        _v(
            "TSPARM",
            "Trial Summary Parameter",
            "string",
            "Synonym Qualifier",
            "Req",
            "assigned: CDISC TSPARM",
            40,
            TSPARM,
        ),
        _v(
            "TSVAL",
            "Parameter Value",
            "string",
            "Result Qualifier",
            "Exp",
            "protocol: protocol and trial sections; SSTDTC and ACTSUB derived from the data",
            200,
        ),
        _v(
            "TSVALNF",
            "Parameter Null Flavor",
            "string",
            "Result Qualifier",
            "Perm",
            "derived: ISO 21090 null flavour when the protocol gives no value",
            8,
        ),
        _v(
            "TSVALCD",
            "Parameter Value Code",
            "string",
            "Result Qualifier",
            "Exp",
            "derived: NCI code of a CDISC CT value (doseline CT table)",
            20,
        ),
        _v(
            "TSVCDREF",
            "Name of the Reference Terminology",
            "string",
            "Result Qualifier",
            "Exp",
            "assigned: CDISC CT, ISO 8601 or ISO 3166-1 alpha-3",
            20,
        ),
        _v(
            "TSVCDVER",
            "Version of the Reference Terminology",
            "string",
            "Result Qualifier",
            "Exp",
            "assigned: the CT package version",
            20,
        ),
    ),
)

DOMAINS = (DM, DS, EX, EC, SV, VS, TA, TE, TV, TI, TS)
