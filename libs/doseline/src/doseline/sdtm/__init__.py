"""CDISC SDTM datasets: the one metadata model every service's export is written in.

Each service builds the SDTM domains of its own data from its own schema (enrollment: DM, DS,
EX, SV, VS and the trial design domains; safety: AE with SUPPAE, LB; imaging: RE, QS, FT) as
`Dataset`s: a `Domain` (its variables with label, type, role, core and the source each value
comes from) and its records. The writers (Dataset-JSON, SAS XPORT, Define-XML) and the study
package read nothing else, so the files, the Define-XML document and the mapping table in the
docs all come from the same metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from doseline import sitetime

DataType = Literal["string", "integer", "float", "date", "datetime"]
Role = Literal[
    "Identifier",
    "Topic",
    "Timing",
    "Grouping Qualifier",
    "Result Qualifier",
    "Synonym Qualifier",
    "Record Qualifier",
    "Variable Qualifier",
    "Rule",
]
Core = Literal["Req", "Exp", "Perm"]
ObservationClass = Literal[
    "Special-Purpose", "Interventions", "Events", "Findings", "Trial Design", "Relationship"
]
Value = str | int | float | None


@dataclass(frozen=True)
class Variable:
    """One SDTM variable of a domain, as the SDTM Implementation Guide describes it.

    `data_type` "date" and "datetime" are ISO 8601 text in the files (SDTM --DTC variables);
    `length` is the largest width a string value may take (the XPT column width; at most 200).
    `source` names where the value comes from ("safety.adverse_events.grade", or "derived: ..."
    with the rule) and feeds the mapping table; `codelist` is the CDISC Controlled Terminology
    codelist code (for example "C66742", No Yes Response) when the values are its submission
    values.
    """

    name: str
    label: str
    data_type: DataType
    role: Role
    core: Core
    source: str
    length: int | None = None
    codelist: str | None = None

    def __post_init__(self) -> None:
        if not (1 <= len(self.name) <= 8 and self.name.isupper() and self.name.isalnum()):
            raise ValueError(f"{self.name!r}: an SDTM variable name is 1-8 capitals and digits")
        if len(self.label) > 40:
            raise ValueError(f"{self.name}: label over 40 characters ({self.label!r})")
        if self.data_type == "string" and not (self.length and 1 <= self.length <= 200):
            raise ValueError(f"{self.name}: a string variable needs a length of 1 to 200")


@dataclass(frozen=True)
class Domain:
    """An SDTM domain: its two-letter code, label, class, structure, keys and variables."""

    name: str
    label: str
    observation_class: ObservationClass
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    def __post_init__(self) -> None:
        names = [variable.name for variable in self.variables]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a variable is listed twice")
        if missing := [key for key in self.keys if key not in names]:
            raise ValueError(f"{self.name}: keys {missing} are not variables of the domain")

    def variable(self, name: str) -> Variable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(f"{self.name} has no variable {name}")


@dataclass(frozen=True)
class Dataset:
    """A domain's records, each a mapping of variable name to value (None: null)."""

    domain: Domain
    records: tuple[Mapping[str, Value], ...]

    def __post_init__(self) -> None:
        names = {variable.name for variable in self.domain.variables}
        for number, record in enumerate(self.records, start=1):
            if unknown := sorted(set(record) - names):
                raise ValueError(f"{self.domain.name} record {number}: unknown {unknown}")
            for variable in self.domain.variables:
                if variable.core == "Req" and record.get(variable.name) in (None, ""):
                    raise ValueError(
                        f"{self.domain.name} record {number}: required {variable.name} is empty"
                    )


@dataclass(frozen=True)
class DataCut:
    """What an export covers: one trial's data as it stood at `at` (timezone-aware, UTC)."""

    trial_id: str
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a data cut time must carry its time zone")


@dataclass(frozen=True)
class Study:
    """What the study package says of the study itself: STUDYID, its title, the protocol version
    the data was collected under. One installed service (enrollment) declares it."""

    study_id: str
    title: str
    protocol_version: str

    def __post_init__(self) -> None:
        if not self.study_id or not self.protocol_version:
            raise ValueError("a study needs its STUDYID and protocol version")


def study_day(on: date, reference_start: date | None) -> int | None:
    """The SDTM study day (--DY) of `on` against the subject's RFSTDTC date.

    Day 1 is the reference start date and there is no day 0: the day before it is -1 (the one
    rule, `doseline.sitetime.study_day`). None when the subject has no reference start (never
    dosed).
    """
    if reference_start is None:
        return None
    return sitetime.study_day(reference_start, on)
