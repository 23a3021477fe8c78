"""The identifier and timing variables every subject-level domain declares alike.

STUDYID, DOMAIN, USUBJID, --SEQ and --SPID open each domain, and VISITNUM, VISIT, --DTC and --DY
place its records in the study; only their sources differ from one domain to the next. Each
service's domains call these builders with their own sources, so a label, type, role or length
is written once (SDTMIG v3.4) and the mapping table reads the same for every domain.
"""

from __future__ import annotations

from typing import Literal

from doseline.sdtm import Core, DataType, Variable

DomainRule = Literal["derived", "assigned"]


def identifiers(
    domain: str,
    *,
    study: str,
    subject: str | None = None,
    subject_length: int = 80,
    sequence: str | None = None,
    sponsor_id: str | None = None,
    sponsor_id_length: int = 36,
    rule: DomainRule = "derived",
) -> tuple[Variable, ...]:
    """STUDYID and DOMAIN, then USUBJID, `domain`SEQ and `domain`SPID for those given a source.

    `rule` is how DOMAIN's source reads ("derived: AE" or "assigned: DM").
    """
    variables = [
        study_id(study),
        Variable(
            "DOMAIN",
            "Domain Abbreviation",
            "string",
            "Identifier",
            "Req",
            f"{rule}: {domain}",
            length=2,
        ),
    ]
    if subject is not None:
        variables.append(subject_id(subject, length=subject_length))
    if sequence is not None:
        variables.append(
            Variable(f"{domain}SEQ", "Sequence Number", "integer", "Identifier", "Req", sequence)
        )
    if sponsor_id is not None:
        variables.append(
            Variable(
                f"{domain}SPID",
                "Sponsor-Defined Identifier",
                "string",
                "Identifier",
                "Perm",
                sponsor_id,
                length=sponsor_id_length,
            )
        )
    return tuple(variables)


def study_id(source: str) -> Variable:
    """STUDYID."""
    return Variable("STUDYID", "Study Identifier", "string", "Identifier", "Req", source, length=40)


def subject_id(source: str, *, length: int = 80) -> Variable:
    """USUBJID."""
    return Variable(
        "USUBJID", "Unique Subject Identifier", "string", "Identifier", "Req", source, length=length
    )


def visit_number(source: str) -> Variable:
    """VISITNUM, the protocol visit's number (doseline.sdtm.visits)."""
    return Variable("VISITNUM", "Visit Number", "float", "Timing", "Exp", source)


def visit_name(source: str) -> Variable:
    """VISIT, the protocol visit's name."""
    return Variable("VISIT", "Visit Name", "string", "Timing", "Perm", source, length=40)


def planned_visit_day(source: str) -> Variable:
    """VISITDY, the study day the protocol plans the visit on."""
    return Variable("VISITDY", "Planned Study Day of Visit", "integer", "Timing", "Perm", source)


def collected(
    name: str, label: str, source: str, *, data_type: DataType = "date", core: Core = "Exp"
) -> Variable:
    """A --DTC variable: the ISO 8601 date (or date and time) the record is of."""
    return Variable(name, label, data_type, "Timing", core, source)


def study_day_variable(
    name: str, label: str, of: str, reference: str, *, core: Core = "Perm"
) -> Variable:
    """A --DY variable: the study day of the --DTC variable `of` against `reference` (RFSTDTC)."""
    return Variable(
        name, label, "integer", "Timing", core, f"derived: study day of {of} against {reference}"
    )


def timing(
    domain: str,
    *,
    source: str,
    reference: str,
    dtc_label: str,
    dy_label: str,
    core: Core = "Perm",
) -> tuple[Variable, ...]:
    """`domain`DTC from `source` and `domain`DY, its study day against `reference`."""
    return (
        collected(f"{domain}DTC", dtc_label, source),
        study_day_variable(f"{domain}DY", dy_label, f"{domain}DTC", reference, core=core),
    )


def measurement_name(domain: str, label: str, *, codelist: str | None = None) -> Variable:
    """`domain`TEST, the CT name paired with the record's `domain`TESTCD."""
    return Variable(
        f"{domain}TEST",
        label,
        "string",
        "Synonym Qualifier",
        "Req",
        f"derived: the CT test name paired with {domain}TESTCD",
        length=40,
        codelist=codelist,
    )


def original_result(domain: str, source: str) -> Variable:
    """`domain`ORRES, the result as collected."""
    return Variable(
        f"{domain}ORRES",
        "Result or Finding in Original Units",
        "string",
        "Result Qualifier",
        "Exp",
        source,
        length=40,
    )


def original_unit(domain: str, source: str, *, codelist: str) -> Variable:
    """`domain`ORRESU, the unit of `domain`ORRES."""
    return Variable(
        f"{domain}ORRESU",
        "Original Units",
        "string",
        "Variable Qualifier",
        "Exp",
        source,
        length=20,
        codelist=codelist,
    )


def standard_results(
    domain: str, *, character: str | None = None, unit_codelist: str | None = None
) -> tuple[Variable, ...]:
    """`domain`STRESC and `domain`STRESN, and `domain`STRESU for a result with a unit: the
    standard result is the original one, with no unit conversion. `character` is STRESC's
    source when it says more than that."""
    variables = [
        Variable(
            f"{domain}STRESC",
            "Character Result/Finding in Std Format",
            "string",
            "Result Qualifier",
            "Exp",
            character or f"derived: {domain}ORRES (no unit conversion)",
            length=40,
        ),
        Variable(
            f"{domain}STRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            "Result Qualifier",
            "Exp",
            f"derived: {domain}ORRES as a number",
        ),
    ]
    if unit_codelist is not None:
        variables.append(
            Variable(
                f"{domain}STRESU",
                "Standard Units",
                "string",
                "Variable Qualifier",
                "Exp",
                f"derived: {domain}ORRESU",
                length=20,
                codelist=unit_codelist,
            )
        )
    return tuple(variables)
