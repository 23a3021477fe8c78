"""Imaging's values as SDTM findings: RE tests and units, the 6MWT code, SGRQ items, blood gas."""

from __future__ import annotations

from datetime import date

import pytest

from doseline.sdtm import Domain
from doseline.sdtm.controlled_terminology import codelist
from imaging.assessments.models import AssessmentRow
from imaging.sdtm import mapping
from imaging.sdtm.domains import FT, LB, QS, RE
from imaging.sdtm.service import Visits
from imaging.sgrq.weights import ITEMS, Instrument


def _tests(findings: list[mapping.Finding]) -> dict[str, tuple[float, str | None, bool]]:
    return {f.test_code: (f.value, f.unit, f.derived) for f in findings}


def test_measured_lung_function_is_collected_and_gli_percent_predicted_is_derived() -> None:
    findings = mapping.pulmonary_function(
        {"fev1_l": 2.5, "fvc_l": 3.2, "dlco_unit": "mL/min/mmHg"},
        {
            "fev1_l": 2.5,
            "fvc_l": 3.2,
            "fev1_fvc": 2.5 / 3.2,
            "dlco": 17.9,
            "fev1_percent_predicted": 82.4,
            "fvc_percent_predicted": 80.1,
            "dlco_percent_predicted": 71.0,
            "fev1_z": -1.13,
        },
    )
    assert _tests(findings) == {
        "FEV1": (2.5, "L", False),
        "FVC": (3.2, "L", False),
        "FEV1FVC": (2.5 / 3.2, None, True),
        "DLCO": (17.9, "mL/min/mmHg", False),
        "FEV1PP": (82.4, "%", True),
        "FVCPP": (80.1, "%", True),
        "DLCOPP": (71.0, "%", True),
    }
    assert {f.test_name for f in findings} <= codelist("C111107").values


def test_the_laboratorys_own_percent_predicted_is_used_only_without_a_gli_value() -> None:
    findings = mapping.pulmonary_function(
        {"fev1_l": 2.0, "fev1_fvc": 0.61, "dlco": 6.1, "dlco_unit": "mmol/min/kPa"},
        {
            "fev1_l": 2.0,
            "fev1_fvc": 0.61,
            "dlco": 6.1,
            "fev1_percent_predicted": None,
            "fev1_percent_predicted_reported": 77.0,
        },
    )
    assert _tests(findings) == {
        "FEV1": (2.0, "L", False),
        "FEV1FVC": (0.61, None, False),
        "DLCO": (6.1, "mmol/min/kPa", False),
        "FEV1PP": (77.0, "%", False),
    }


def test_the_walk_distance_is_the_ct_distance_at_6_minutes_in_metres() -> None:
    finding = mapping.six_minute_walk({"distance_m": 442.8})
    assert (finding.test_code, finding.test_name, finding.value, finding.unit) == (
        "SIXMW106",
        "SIXMW1-Distance at 6 Minutes",
        442.8,
        "m",
    )
    assert mapping.walk_category() == "SIX MINUTE WALK"


@pytest.mark.parametrize(
    ("instrument", "prefix", "category"),
    [
        (Instrument.SGRQ, "SGRQ01", "SGRQ PAST 3 MONTHS VERSION"),
        (Instrument.SGRQ_C, "SGRQC1", "SGRQ-C"),
    ],
    ids=["sgrq", "sgrq-c"],
)
def test_every_scored_item_has_its_ct_question_after_the_unscored_opening_one(
    instrument: Instrument, prefix: str, category: str
) -> None:
    responses = {item.item: (True if item.is_true_false else 1) for item in ITEMS[instrument]}
    answers = mapping.questionnaire({"instrument": instrument.value, "responses": responses})
    assert len(answers) == len(ITEMS[instrument])
    assert [a.test_code for a in answers] == [
        f"{prefix}{n:02d}" for n in range(2, len(ITEMS[instrument]) + 2)
    ]
    assert {a.category for a in answers} == {category}


@pytest.mark.parametrize(
    ("instrument", "item", "code", "name"),
    [
        ("SGRQ", "1", "SGRQ0102", "SGRQ01-I Have Coughed"),
        ("SGRQ", "8", "SGRQ0109", "SGRQ01-Wheeze Worse in the Morning"),
        ("SGRQ", "11a", "SGRQ0112", "SGRQ01-Sitting or Lying Still"),
        ("SGRQ", "17", "SGRQ0151", "SGRQ01-How Resp Problems Affect You"),
        ("SGRQ-C", "9a", "SGRQC110", "SGRQC1-Washing or Dressing Yourself"),
        ("SGRQ-C", "14", "SGRQC141", "SGRQC1-How Resp Problems Affect You"),
    ],
)
def test_an_item_lands_on_the_ct_question_of_the_same_wording(
    instrument: str, item: str, code: str, name: str
) -> None:
    (answer,) = mapping.questionnaire({"instrument": instrument, "responses": {item: 1}})
    assert (answer.test_code, answer.test_name) == (code, name)


def test_answers_are_option_positions_or_true_false_and_unanswered_items_are_left_out() -> None:
    answers = mapping.questionnaire({"responses": {"1": 3, "8": False, "2": None}})
    assert [(a.test_code, a.response, a.numeric) for a in answers] == [
        ("SGRQ0102", "3", 3.0),
        ("SGRQ0109", "FALSE", None),
    ]


def test_a_whole_number_stored_as_json_integer_is_a_float_result() -> None:
    (fvc,) = mapping.pulmonary_function({}, {"fvc_l": 3})
    assert (fvc.value, mapping.number_text(fvc.value)) == (3.0, "3")


def test_blood_gas_pressures_keep_their_unit_and_ph_has_none() -> None:
    findings = {
        f.test_code: (f.value, f.unit, loinc)
        for f, loinc in mapping.arterial_blood(
            {"ph": 7.4, "pao2": 10.7, "paco2": 5.3, "pressure_unit": "kPa", "sao2_percent": 95}
        )
    }
    assert findings == {
        "PH": (7.4, None, "2744-1"),
        "PO2": (10.7, "kPa", "2703-7"),
        "PCO2": (5.3, "kPa", "2019-8"),
        "OXYSAT": (95.0, "%", "2708-6"),
    }


@pytest.mark.parametrize(("value", "text"), [(450.0, "450"), (2.5, "2.5"), (0.61, "0.61")])
def test_results_are_written_without_a_trailing_zero(value: float, text: str) -> None:
    assert mapping.number_text(value) == text


@pytest.mark.parametrize("domain", [RE, FT, QS, LB], ids=lambda d: d.name)
def test_every_codelist_a_variable_names_is_committed(domain: Domain) -> None:
    for variable in domain.variables:
        if variable.codelist is not None:
            assert codelist(variable.codelist).code == variable.codelist


def test_without_a_protocol_version_a_visit_has_its_name_but_no_number() -> None:
    assessment = AssessmentRow(visit="month-1", performed_on=date(2026, 3, 1))
    assert Visits([]).of(assessment) == {"VISITNUM": None, "VISIT": "MONTH-1"}
    pending = AssessmentRow(visit=None, performed_on=date(2026, 3, 1))
    assert Visits([]).of(pending) == {"VISITNUM": None, "VISIT": None}
