"""Imaging's SDTM datasets built from recorded lung function, walk, SGRQ and blood gas tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doseline.contracts.protocol import ProtocolActivated
from doseline.sdtm import DataCut, Dataset
from enrollment.protocol import load_shipped_protocol
from imaging.protocols import tasks as protocol_tasks
from imaging.sdtm import service as sdtm

from .conftest import DAY_1, SUBJECT, TRIAL, Desk, at_site
from .test_assessments_api import PFT_MAN_60, ROOM_AIR_GAS, _answers


@pytest.fixture
def treated(desk: Desk) -> Desk:
    """A subject of HDMSC-RP-01 under its shipped protocol, infused on days 1, 4, 7 and 10."""
    shipped = load_shipped_protocol("hdmsc-rp-01")
    desk.deliver(
        ProtocolActivated(
            trial_id=shipped.trial_id,
            protocol_id=shipped.protocol_id,
            protocol_version=shipped.version,
            content_hash=shipped.content_hash,
            sequence=1,
            activation="initial",
            effective_from=None,
            activated_at=datetime.now(UTC),
            rules=shipped.trial_rules(),
        ),
        protocol_tasks.on_protocol_activated,
    )
    desk.enrol()
    desk.treat()
    return desk


def _export(desk: Desk, at: datetime) -> dict[str, Dataset]:
    with desk.db() as session:
        return {
            dataset.domain.name: dataset
            for dataset in sdtm.datasets(session, DataCut(trial_id=TRIAL, at=at))
        }


def _by_test(dataset: Dataset, prefix: str) -> dict[tuple[Any, Any], Any]:
    return {(r[f"{prefix}TESTCD"], r[f"{prefix}DY"]): r for r in dataset.records}


def test_recorded_outcomes_become_re_ft_qs_and_blood_gas_lb_with_study_days(
    treated: Desk,
) -> None:
    baseline = at_site(DAY_1 - timedelta(days=3))
    day_29 = at_site(DAY_1 + timedelta(days=28))
    subject = f"/v1/subjects/{SUBJECT}"
    pft = treated.post(
        f"{subject}/pulmonary-function-tests", {**PFT_MAN_60, "performed_at": baseline}
    )
    treated.post(
        f"{subject}/pulmonary-function-tests",
        {**PFT_MAN_60, "fev1_l": 2.2, "fvc_l": 3.1, "performed_at": day_29},
    )
    walk = {"sex": "male", "age_years": 60, "height_cm": 170, "weight_kg": 70, "stops": 0}
    treated.post(f"{subject}/walk-tests", {**walk, "distance_m": 442.8, "performed_at": baseline})
    answers = _answers(worst=False)
    answers["2"] = None
    answers["8"] = True
    treated.post(f"{subject}/sgrq", {"responses": answers, "performed_at": baseline})
    treated.post(
        f"{subject}/blood-gases",
        {**ROOM_AIR_GAS, "hco3_mmol_l": 24, "performed_at": at_site(DAY_1 - timedelta(days=1))},
    )
    voided = treated.post(f"{subject}/blood-gases", {**ROOM_AIR_GAS, "performed_at": baseline})
    response = treated.client.post(
        f"/v1/assessments/{voided['id']}/void",
        json={"reason": "sample was venous, not arterial"},
        headers={**treated.as_(), "If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text

    datasets = _export(treated, datetime.now(UTC))

    assert sorted(datasets) == ["FT", "LB", "QS", "RE"]
    respiratory = _by_test(datasets["RE"], "RE")
    fev1 = respiratory[("FEV1", -3)]
    assert (fev1["RETEST"], fev1["REORRES"], fev1["REORRESU"]) == (
        "Forced Expiratory Volume in 1 Second",
        "2.5",
        "L",
    )
    assert (fev1["RESTRESN"], fev1["REDRVFL"]) == (2.5, None)
    assert (fev1["VISIT"], fev1["VISITNUM"]) == ("BASELINE", 2.0)
    assert (fev1["RESPID"], fev1["REDTC"]) == (pft["id"], (DAY_1 - timedelta(days=3)).isoformat())
    predicted = respiratory[("FEV1PP", -3)]
    assert predicted["RESTRESN"] == pytest.approx(82.42, abs=5e-3)
    assert (predicted["REORRESU"], predicted["REDRVFL"]) == ("%", "Y")
    fvc = respiratory[("FVC", 29)]
    assert fvc["RESTRESN"] == 3.1
    # Screening 1, baseline 2, infusions 3 to 6, then month-1 (out of its window, still its visit).
    assert (fvc["VISIT"], fvc["VISITNUM"]) == ("MONTH-1", 7.0)
    ratio = respiratory[("FEV1FVC", 29)]
    assert ratio["RESTRESN"] == pytest.approx(2.2 / 3.1)
    assert (ratio["REDRVFL"], ratio["REORRESU"]) == ("Y", None)
    assert [r["RESEQ"] for r in datasets["RE"].records] == list(
        range(1, len(datasets["RE"].records) + 1)
    )

    (distance,) = datasets["FT"].records
    assert (distance["FTTESTCD"], distance["FTTEST"], distance["FTCAT"]) == (
        "SIXMW106",
        "SIXMW1-Distance at 6 Minutes",
        "SIX MINUTE WALK",
    )
    assert (distance["FTORRES"], distance["FTORRESU"], distance["FTDY"]) == ("442.8", "m", -3)

    items = {r["QSTESTCD"]: r for r in datasets["QS"].records}
    assert len(items) == 49, "50 SGRQ items, one unanswered"
    assert "SGRQ0103" not in items, "item 2 was not answered"
    cough = items["SGRQ0102"]
    assert (cough["QSCAT"], cough["QSTEST"]) == (
        "SGRQ PAST 3 MONTHS VERSION",
        "SGRQ01-I Have Coughed",
    )
    assert (cough["QSORRES"], cough["QSSTRESN"], cough["QSDY"]) == ("5", 5.0, -3)
    wheeze = items["SGRQ0109"]
    assert (wheeze["QSORRES"], wheeze["QSSTRESN"]) == ("TRUE", None)

    gases = {r["LBTESTCD"]: r for r in datasets["LB"].records}
    assert sorted(gases) == ["BICARB", "PCO2", "PH", "PO2"], "the voided sample is left out"
    assert (gases["PO2"]["LBORRES"], gases["PO2"]["LBORRESU"], gases["PO2"]["LBLOINC"]) == (
        "80",
        "mmHg",
        "2703-7",
    )
    assert (gases["PH"]["LBORRESU"], gases["PH"]["LBDY"]) == (None, -1)
    assert {r["LBCAT"] for r in gases.values()} == {"BLOOD GAS"}
    assert {r["LBSPEC"] for r in gases.values()} == {"ARTERIAL BLOOD"}

    before = _export(treated, datetime.now(UTC) - timedelta(days=1))
    assert [len(before[name].records) for name in ("RE", "FT", "QS", "LB")] == [0, 0, 0, 0]
