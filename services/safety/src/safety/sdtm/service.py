"""Safety's SDTM datasets at a data cut: AE and SUPPAE from adverse events, LB from lab results.

What the data cut holds: an adverse event reported by the cut, in its latest version recorded
by then (a follow-up recorded later is not in it); its DLT flag from the assessments and
signatures made by then. An adverse event is never deleted or withdrawn (a correction is a new
version), so every one reported by the cut is exported. A lab result is the latest version of
its Observation received by the cut.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy.orm import Session

from doseline.numbers import plain
from doseline.sdtm import DataCut, Dataset, Value, study_day
from safety.adjudication.models import DltAssessmentRow, DltSignatureRow
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.catalogue.models import CtcaeTermRow
from safety.ehr.loinc import lab_code
from safety.ehr.models import LabObservationRow
from safety.sdtm import mapping, repository
from safety.sdtm.domains import (
    AE,
    LB,
    QLABELS,
    QNAM_CTCAE_VERSION,
    QNAM_DLT,
    QNAM_EXPECTED,
    QNAM_PROPOSED_GRADE,
    SUPPAE,
)

Record = dict[str, Value]


def datasets(session: Session, cut: DataCut) -> tuple[Dataset, ...]:
    """AE, SUPPAE and LB of the trial at the cut (the manifest's `sdtm`)."""
    first_days = repository.first_infusion_days(session, cut.trial_id)
    adverse_events, supplemental = adverse_event_datasets(session, cut, first_days)
    return adverse_events, supplemental, lab_dataset(session, cut, first_days)


def adverse_event_datasets(
    session: Session, cut: DataCut, first_days: Mapping[str, date | None]
) -> tuple[Dataset, Dataset]:
    events = sorted(
        repository.adverse_events_at(session, cut.trial_id, cut.at),
        key=lambda pair: (pair[0].subject_id, pair[1].onset_date, pair[0].created_at, pair[0].id),
    )
    terms = repository.terms(
        session, {(version.ctcae_version, version.term_code) for _, version in events}
    )
    ae_ids = {event.id for event, _ in events}
    assessments = repository.dlt_assessments_at(session, ae_ids, cut.at)
    decisions = _decisions(repository.signatures_at(session, ae_ids, cut.at))
    records: list[Record] = []
    qualifiers: list[Record] = []
    sequence: dict[str, int] = {}
    for event, version in events:
        number = sequence[event.subject_id] = sequence.get(event.subject_id, 0) + 1
        term = terms.get((version.ctcae_version, version.term_code))
        records.append(ae_record(event, version, term, number, first_days.get(event.subject_id)))
        status = dlt_status(
            assessments.get((event.id, version.number)), decisions.get((event.id, version.number))
        )
        qualifiers.extend(suppae_records(event, version, number, status))
    return Dataset(AE, tuple(records)), Dataset(SUPPAE, tuple(qualifiers))


def ae_record(
    event: AdverseEventRow,
    version: AdverseEventVersionRow,
    term: CtcaeTermRow | None,
    number: int,
    first_infusion_on: date | None,
) -> Record:
    soc_code = None if term is None or term.soc_code is None else int(term.soc_code)
    soc_name = None if term is None else term.soc_name
    return {
        "STUDYID": event.trial_id,
        "DOMAIN": "AE",
        "USUBJID": event.subject_id,
        "AESEQ": number,
        "AESPID": str(event.id),
        "AETERM": mapping.reported_term(version.term_name, version.specification)[0],
        "AELLT": version.term_name,
        "AELLTCD": int(version.term_code),
        "AEDECOD": version.term_name,
        "AEBODSYS": soc_name,
        "AEBDSYCD": soc_code,
        "AESOC": soc_name,
        "AESOCCD": soc_code,
        **mapping.seriousness(version.seriousness),
        "AEACN": mapping.action_taken(version.action_taken),
        "AEREL": mapping.causality(version.attribution),
        "AEOUT": mapping.outcome(version.outcome),
        "AETOXGR": str(version.grade),
        "AESTDTC": version.onset_date.isoformat(),
        "AEENDTC": None if version.resolution_date is None else version.resolution_date.isoformat(),
        "AESTDY": study_day(version.onset_date, first_infusion_on),
        "AEENDY": (
            None
            if version.resolution_date is None
            else study_day(version.resolution_date, first_infusion_on)
        ),
    }


def _decisions(signatures: Sequence[DltSignatureRow]) -> dict[tuple[uuid.UUID, int], str]:
    """The last valid signed decision on each adverse event version."""
    return {(signature.ae_id, signature.ae_version): signature.decision for signature in signatures}


def dlt_status(assessment: DltAssessmentRow | None, decision: str | None) -> mapping.DltStatus:
    """Where the version's DLT question stood: a signed decision wins; else the rules' verdict."""
    if decision == "confirm":
        return "confirmed"
    if decision == "rule_out":
        return "ruled_out"
    if assessment is None:
        return "not_assessed"
    return "suspected" if assessment.is_suspected_dlt else "not_suspected"


def suppae_records(
    event: AdverseEventRow,
    version: AdverseEventVersionRow,
    number: int,
    status: mapping.DltStatus,
) -> list[Record]:
    def qualifier(
        qnam: str, value: str, origin: str, evaluator: str | None = None, label: str | None = None
    ) -> Record:
        return {
            "STUDYID": event.trial_id,
            "RDOMAIN": "AE",
            "USUBJID": event.subject_id,
            "IDVAR": "AESEQ",
            "IDVARVAL": str(number),
            "QNAM": qnam,
            "QLABEL": QLABELS[qnam] if label is None else label,
            "QVAL": value,
            "QORIG": origin,
            "QEVAL": evaluator,
        }

    flag, origin = mapping.dlt_flag(status)
    records = [
        qualifier(QNAM_DLT, flag, origin, "SPONSOR" if origin == "Assigned" else None),
        qualifier(QNAM_CTCAE_VERSION, version.ctcae_version, "CRF"),
    ]
    if version.expected is not None:
        records.append(qualifier(QNAM_EXPECTED, mapping.yes_no(version.expected), "CRF"))
    if version.proposed_grade is not None:
        records.append(qualifier(QNAM_PROPOSED_GRADE, str(version.proposed_grade), "Derived"))
    rest = mapping.reported_term(version.term_name, version.specification)[1:]
    for place, piece in enumerate(rest, start=1):
        label = f"Reported Term for the Adverse Event {place}"
        records.append(qualifier(f"AETERM{place}", piece, "CRF", label=label))
    return records


def lab_dataset(session: Session, cut: DataCut, first_days: Mapping[str, date | None]) -> Dataset:
    rows: list[tuple[LabObservationRow, str, tuple[str, str], str]] = []
    for result, trial_id in repository.lab_results_at(session, cut.trial_id, cut.at):
        code = lab_code(result.loinc)
        test = None if code is None else mapping.lab_test(code.analyte)
        if code is None or test is None:
            # Not a lab test (a temperature, a lung function value the grader also reads).
            continue
        rows.append((result, trial_id, test, code.analyte))
    rows.sort(key=lambda row: (row[0].subject_id, row[0].effective_on, row[2][0], row[0].id))
    records: list[Record] = []
    sequence: dict[str, int] = {}
    for result, trial_id, (test_code, test_name), analyte in rows:
        number = sequence[result.subject_id] = sequence.get(result.subject_id, 0) + 1
        records.append(
            lab_record(
                result,
                trial_id,
                test_code,
                test_name,
                analyte,
                number,
                first_days.get(result.subject_id),
            )
        )
    return Dataset(LB, tuple(records))


def lab_record(
    result: LabObservationRow,
    trial_id: str,
    test_code: str,
    test_name: str,
    analyte: str,
    number: int,
    first_infusion_on: date | None,
) -> Record:
    value = plain(result.value)
    unit = mapping.unit(result.unit)
    return {
        "STUDYID": trial_id,
        "DOMAIN": "LB",
        "USUBJID": result.subject_id,
        "LBSEQ": number,
        "LBSPID": result.observation_id,
        "LBTESTCD": test_code,
        "LBTEST": test_name,
        "LBCAT": mapping.lab_category(analyte),
        "LBORRES": value,
        "LBORRESU": unit,
        "LBORNRLO": None,
        "LBORNRHI": None,
        "LBSTRESC": value,
        "LBSTRESN": float(result.value),
        "LBSTRESU": unit,
        "LBNRIND": None,
        "LBLOINC": result.loinc,
        "LBTOXGR": None if result.grade is None else str(result.grade),
        "VISITNUM": None,
        "LBDTC": result.effective_on.isoformat(),
        "LBDY": study_day(result.effective_on, first_infusion_on),
    }
