"""Safety's SDTM datasets built from reported AEs, a signed DLT and a FHIR lab result."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from doseline.sdtm import DataCut, Dataset
from safety.sdtm import service as sdtm

from .conftest import HYPOXIA, TRIAL, Desk, site_today
from .test_dlt_adjudication import _adjudicate, _dlts, _follow_up
from .test_ehr_intake import observation, post
from .test_lists_page import _statements

SUBJECT = "HDMSC-RP-01-001"


def _day(day1: date, study_day: int) -> str:
    return (day1 + timedelta(days=study_day - 1)).isoformat()


def _export(desk: Desk, at: datetime) -> dict[str, Dataset]:
    with desk.db() as session:
        return {
            dataset.domain.name: dataset
            for dataset in sdtm.datasets(session, DataCut(trial_id=TRIAL, at=at))
        }


def _by_seq(dataset: Dataset) -> dict[Any, Any]:
    return {record["AESEQ"]: record for record in dataset.records}


@pytest.fixture
def day1() -> date:
    return site_today() - timedelta(days=45)


@pytest.fixture
def trial(desk: Desk, day1: date) -> Desk:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=day1)
    desk.baseline(SUBJECT, 1)
    return desk


def test_aes_a_confirmed_dlt_and_a_graded_lab_result_become_ae_suppae_and_lb(
    trial: Desk, day1: date
) -> None:
    dlt = trial.report(onset_date=_day(day1, 12))
    (case,) = _dlts(trial, status="suspected")
    assert _adjudicate(trial, case["id"], "confirm").status_code == 200
    sae = trial.report(
        term_code=HYPOXIA,
        verbatim="desaturation needing admission",
        onset_date=_day(day1, 40),
        grade=4,
        seriousness=["hospitalisation", "life_threatening"],
        aware_at=datetime.now(UTC).isoformat(),
        attribution="unlikely",
        action_taken="drug_interrupted",
        outcome="recovering_resolving",
        expected=False,
    )
    assert post(trial, observation()).status_code in (200, 201)
    cut = datetime.now(UTC)
    # A follow-up after the cut is not in the cut's data.
    _follow_up(trial, sae["id"], term_code=HYPOXIA, onset_date=_day(day1, 40), grade=3)

    datasets = _export(trial, cut)

    assert sorted(datasets) == ["AE", "LB", "SUPPAE"]
    events = _by_seq(datasets["AE"])
    assert [events[1]["AESPID"], events[2]["AESPID"]] == [dlt["id"], sae["id"]]
    pneumonitis, hypoxia = events[1], events[2]
    assert (pneumonitis["STUDYID"], pneumonitis["USUBJID"]) == (TRIAL, SUBJECT)
    assert (pneumonitis["AEDECOD"], pneumonitis["AELLTCD"], pneumonitis["AETOXGR"]) == (
        "Pneumonitis",
        10035742,
        "3",
    )
    assert pneumonitis["AESOC"] == "Respiratory, thoracic and mediastinal disorders"
    assert (pneumonitis["AESTDTC"], pneumonitis["AESTDY"]) == (_day(day1, 12), 12)
    assert (pneumonitis["AESER"], pneumonitis["AESHOSP"]) == ("N", None)
    assert (pneumonitis["AEREL"], pneumonitis["AEACN"], pneumonitis["AEOUT"]) == (
        "POSSIBLY RELATED",
        "DOSE NOT CHANGED",
        "NOT RECOVERED/NOT RESOLVED",
    )
    assert hypoxia["AETOXGR"] == "4", "the follow-up recorded after the cut is not exported"
    assert (hypoxia["AESTDY"], hypoxia["AESER"]) == (40, "Y")
    assert {flag: hypoxia[flag] for flag in ("AESHOSP", "AESLIFE", "AESDTH", "AESMIE")} == {
        "AESHOSP": "Y",
        "AESLIFE": "Y",
        "AESDTH": "N",
        "AESMIE": "N",
    }
    assert (hypoxia["AEACN"], hypoxia["AEOUT"]) == ("DRUG INTERRUPTED", "RECOVERING/RESOLVING")

    qualifiers = {
        (record["IDVARVAL"], record["QNAM"]): record for record in datasets["SUPPAE"].records
    }
    assert qualifiers[("1", "AEDLT")]["QVAL"] == "Y"
    assert qualifiers[("1", "AEDLT")]["QORIG"] == "Assigned"
    assert qualifiers[("1", "AEDLT")]["QLABEL"] == "Dose-Limiting Toxicity"
    assert qualifiers[("2", "AEDLT")]["QVAL"] == "N", "day 40 is outside the DLT window"
    assert qualifiers[("2", "AEEXPCT")]["QVAL"] == "N"
    assert all(record["IDVAR"] == "AESEQ" for record in datasets["SUPPAE"].records)

    (result,) = datasets["LB"].records
    assert (result["LBTESTCD"], result["LBTEST"], result["LBLOINC"]) == (
        "NEUT",
        "Neutrophils",
        "751-8",
    )
    assert (result["LBORRES"], result["LBORRESU"], result["LBSTRESN"]) == ("0.8", "10^9/L", 0.8)
    assert (result["LBTOXGR"], result["LBCAT"]) == ("3", "HEMATOLOGY")
    assert (result["LBDTC"], result["LBDY"]) == (_day(day1, 45), 45)

    later = _export(trial, datetime.now(UTC))
    assert _by_seq(later["AE"])[2]["AETOXGR"] == "3"
    before = _export(trial, cut - timedelta(days=1))
    assert [len(before[name].records) for name in ("AE", "SUPPAE", "LB")] == [0, 0, 0]


def test_a_dlt_suspected_and_not_yet_signed_is_flagged_unknown(trial: Desk, day1: date) -> None:
    trial.report(onset_date=_day(day1, 12))

    datasets = _export(trial, datetime.now(UTC))

    (flag,) = [r for r in datasets["SUPPAE"].records if r["QNAM"] == "AEDLT"]
    assert (flag["QVAL"], flag["QORIG"], flag["QEVAL"]) == ("U", "Derived", None)


def test_the_export_reads_as_many_statements_for_four_aes_as_for_one(
    trial: Desk, day1: date
) -> None:
    trial.report(onset_date=_day(day1, 40))
    assert post(trial, observation("obs-1")).status_code in (200, 201)
    with _statements() as one_each:
        _export(trial, datetime.now(UTC))
    for study_day in (41, 42, 43):
        trial.report(onset_date=_day(day1, study_day), grade=2)
    for number in (2, 3):
        assert post(trial, observation(f"obs-{number}", value=0.9)).status_code in (200, 201)
    with _statements() as four_aes:
        datasets = _export(trial, datetime.now(UTC))
    assert [len(datasets[name].records) for name in ("AE", "LB")] == [4, 3]
    assert len(four_aes) == len(one_each)
