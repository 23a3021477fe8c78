"""Imaging's SDTM datasets at a data cut: RE, FT, QS and LB (arterial blood gas).

What the data cut holds: each assessment recorded by the cut and not voided, with its values as
they are now (an assessment is corrected in place, with the audit trail keeping what it was; a
voided one is left out). Imaging's LB is merged with safety's in the study package
(doseline.sdtm.merge). CT volumetry has no dataset yet (docs/sdtm.md says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy.orm import Session

from doseline.contracts.protocol import in_force_at
from doseline.protocol_versions import rules_of
from doseline.sdtm import DataCut, Dataset, Domain, Value, study_day
from doseline.sdtm.visits import visit_name, visit_numbers
from imaging.assessments.models import AssessmentRow
from imaging.protocols.models import ProtocolVersionRow
from imaging.sdtm import mapping, repository
from imaging.sdtm.domains import FT, LB, QS, RE

Record = dict[str, Value]
# An assessment's records without their sequence number, sorted by test within the assessment.
Rows = Callable[[AssessmentRow], list[Record]]


def datasets(session: Session, cut: DataCut) -> tuple[Dataset, ...]:
    """RE, FT, QS and LB of the trial at the cut (the manifest's `sdtm`)."""
    first_days = repository.first_infusion_days(session, cut.trial_id)
    visits = Visits(repository.protocol_versions_of(session, cut.trial_id))
    rows = repository.recorded_at(
        session, cut.trial_id, ("pft", "walk", "sgrq", "blood_gas"), cut.at
    )
    by_kind: dict[str, list[AssessmentRow]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    return (
        _dataset(RE, "RE", by_kind.get("pft", []), first_days, visits, respiratory_records),
        _dataset(FT, "FT", by_kind.get("walk", []), first_days, visits, walk_records),
        _dataset(QS, "QS", by_kind.get("sgrq", []), first_days, visits, questionnaire_records),
        _dataset(LB, "LB", by_kind.get("blood_gas", []), first_days, visits, blood_gas_records),
    )


class Visits:
    """VISITNUM and VISIT of an assessment's visit, numbered by the protocol version in force on
    the day it was done; no number when no protocol version has arrived (a schedule registered
    through imaging's API) or the visit is pending."""

    def __init__(self, versions: Sequence[ProtocolVersionRow]) -> None:
        self.versions = versions

    def of(self, assessment: AssessmentRow) -> Record:
        if assessment.visit is None:
            return {"VISITNUM": None, "VISIT": None}
        version = in_force_at(self.versions, assessment.performed_on)
        numbers = {} if version is None else visit_numbers(rules_of(version))
        return {
            "VISITNUM": numbers.get(assessment.visit),
            "VISIT": visit_name(assessment.visit),
        }


def _dataset(
    domain: Domain,
    prefix: str,
    assessments: Iterable[AssessmentRow],
    first_days: Mapping[str, date | None],
    visits: Visits,
    records_of: Rows,
) -> Dataset:
    ordered = sorted(
        assessments, key=lambda row: (row.subject_id, row.performed_on, row.performed_at, row.id)
    )
    records: list[Record] = []
    sequence: dict[str, int] = {}
    for assessment in ordered:
        first_on = first_days.get(assessment.subject_id)
        for record in records_of(assessment):
            number = sequence[assessment.subject_id] = sequence.get(assessment.subject_id, 0) + 1
            records.append(
                {
                    "STUDYID": assessment.trial_id,
                    "DOMAIN": domain.name,
                    "USUBJID": assessment.subject_id,
                    f"{prefix}SEQ": number,
                    f"{prefix}SPID": str(assessment.id),
                    **record,
                    **visits.of(assessment),
                    f"{prefix}DTC": assessment.performed_on.isoformat(),
                    f"{prefix}DY": study_day(assessment.performed_on, first_on),
                }
            )
    return Dataset(domain, tuple(records))


def _result(prefix: str, finding: mapping.Finding) -> Record:
    text = mapping.number_text(finding.value)
    return {
        f"{prefix}TESTCD": finding.test_code,
        f"{prefix}TEST": finding.test_name,
        f"{prefix}ORRES": text,
        f"{prefix}ORRESU": finding.unit,
        f"{prefix}STRESC": text,
        f"{prefix}STRESN": finding.value,
        f"{prefix}STRESU": finding.unit,
    }


def respiratory_records(assessment: AssessmentRow) -> list[Record]:
    return [
        {**_result("RE", finding), "REDRVFL": "Y" if finding.derived else None}
        for finding in mapping.pulmonary_function(assessment.inputs, assessment.metrics)
    ]


def walk_records(assessment: AssessmentRow) -> list[Record]:
    finding = mapping.six_minute_walk(assessment.inputs)
    return [{**_result("FT", finding), "FTCAT": mapping.walk_category()}]


def questionnaire_records(assessment: AssessmentRow) -> list[Record]:
    return [
        {
            "QSTESTCD": answer.test_code,
            "QSTEST": answer.test_name,
            "QSCAT": answer.category,
            "QSORRES": answer.response,
            "QSSTRESC": answer.response,
            "QSSTRESN": answer.numeric,
        }
        for answer in mapping.questionnaire(assessment.inputs)
    ]


def blood_gas_records(assessment: AssessmentRow) -> list[Record]:
    return [
        {
            **_result("LB", finding),
            "LBCAT": "BLOOD GAS",
            "LBLOINC": loinc,
            "LBSPEC": mapping.arterial_blood_specimen(),
        }
        for finding, loinc in mapping.arterial_blood(assessment.inputs)
    ]
