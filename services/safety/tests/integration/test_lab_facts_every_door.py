"""A lab grade is NCI's grade whichever door the value comes in by, with every fact it needs.

POST /v1/grading/lab, an AE report carrying its lab value, and FHIR intake all take the clinical
facts a criterion reads; the independent case file grades the same through HTTP as through the
function; bad input is a 422 naming the field; the disagreement report is there for safety
physicians.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from doseline.auth import Role
from safety.grading.agreement import GradingCase, grade_case, read_cases
from safety.grading.lab import LabContext

from .conftest import Desk, ae_body, site_today

SUBJECT = "HDMSC-RP-01-001"
CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "ctcae_v5_lab_cases.csv"
FACT_SYSTEM = "urn:doseline:ctcae-fact"
HYPOKALEMIA = "10021018"


def lab_body(case: GradingCase) -> dict[str, Any]:
    body: dict[str, Any] = {"term": case.term, "value": str(case.value), "unit": case.unit}
    for name in ("lln", "uln", "baseline", "baseline_normal"):
        given = getattr(case, name)
        if given is not None:
            body[name] = given if isinstance(given, bool) else str(given)
    for field in fields(LabContext):
        given = getattr(case.context, field.name)
        if given is not None:
            body[field.name] = given if isinstance(given, bool) else str(given)
    return body


def test_every_independent_case_grades_the_same_over_http_as_through_the_function(
    desk: Desk,
) -> None:
    cases = read_cases(CASES_FILE.read_text(encoding="utf-8"))
    headers = desk.as_(Role.SAFETY_PHYSICIAN)
    differing = []
    for case in cases:
        response = desk.client.post("/v1/grading/lab", json=lab_body(case), headers=headers)
        assert response.status_code == 200, (case.case_id, response.text)
        over_http = response.json()["grade"]
        direct = grade_case(case).grade
        if not over_http == direct == case.expected_grade:
            differing.append((case.case_id, case.expected_grade, direct, over_http))
    assert differing == []
    assert len(cases) >= 200


def test_each_fact_changes_the_grade_over_http_as_the_criterion_says(desk: Desk) -> None:
    def grade(**body: Any) -> Any:
        response = desk.client.post(
            "/v1/grading/lab", json=body, headers=desk.as_(Role.INVESTIGATOR)
        )
        assert response.status_code == 200, response.text
        return response.json()

    lipase = {"term": "lipase_increased", "value": "150", "unit": "U/L", "uln": "60"}
    assumed = grade(**lipase)
    assert assumed["grade"] == 3
    assert assumed["assumptions"] == [
        "assumed symptomatic (signs or symptoms present): not stated, worst case taken"
    ]
    assert grade(**lipase, symptomatic=False)["grade"] == 2
    troponin = {"term": "cardiac_troponin_t_increased", "value": "60", "unit": "ng/L", "uln": "14"}
    assert grade(**troponin)["grade"] is None
    assert grade(**troponin, mi_level="52")["grade"] == 3
    assert grade(**troponin, mi_level="100")["grade"] == 1
    fever = {"term": "fever", "value": "40.3", "unit": "Cel"}
    assert grade(**fever, hours_above_40_celsius="30")["grade"] == 4
    qtc = grade(term="qtc_interval_prolonged", value="470", unit="ms")
    assert (qtc["grade"], qtc["possible_grades"], qtc["missing"]) == (1, [1, 3], ["baseline"])


def test_the_schema_names_the_terms_that_read_each_fact(desk: Desk) -> None:
    schema = desk.client.get("/openapi.json").json()["components"]["schemas"]["LabGradeIn"]
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert "Lipase increased" in properties["symptomatic"]["description"]
    assert "INR increased" in properties["on_anticoagulation"]["description"]
    assert "Cardiac troponin I increased" in properties["mi_level"]["description"]
    assert "Urine output decreased" in properties["collection_hours"]["description"]
    assert "Fever" in properties["hours_above_40_celsius"]["description"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"symtomatic": True}, ["body", "symtomatic"]),
        ({"value": "-1"}, ["body", "value"]),
        ({"value": "NaN"}, ["body", "value"]),
        ({"lln": "4.0", "uln": "3.5"}, ["body", "lln"]),
        ({"unit": "g/dL"}, ["body", "unit"]),
        ({"unit": "furlongs"}, ["body", "unit"]),
        ({"term": "headache"}, ["body", "term"]),
        ({"value": None}, ["body", "value"]),
    ],
)
def test_bad_lab_input_is_a_422_naming_the_field(
    desk: Desk, change: dict[str, Any], loc: list[str]
) -> None:
    body = {"term": "hypokalemia", "value": "3.1", "unit": "mmol/L", "lln": "3.5", **change}
    response = desk.client.post("/v1/grading/lab", json=body, headers=desk.as_(Role.INVESTIGATOR))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == loc


def test_an_ae_report_with_its_lab_value_stores_the_grade_the_facts_give(desk: Desk) -> None:
    desk.enrol(SUBJECT)
    lab = {"term": "hypokalemia", "value": "3.2", "unit": "mmol/L", "lln": "3.5"}
    reported = desk.report(
        term_code=HYPOKALEMIA,
        verbatim="low potassium, no symptoms",
        grade=1,
        lab={**lab, "symptomatic": False},
    )
    assert reported["current"]["proposed_grade"] == 1
    basis = reported["current"]["grading_basis"]
    assert basis["kind"] == "lab"
    assert basis["inputs"]["symptomatic"] is False
    worst = desk.report(term_code=HYPOKALEMIA, verbatim="low potassium", grade=1, lab=lab)
    assert worst["current"]["proposed_grade"] == 2
    misspelt = desk.client.post(
        "/v1/adverse-events",
        json=ae_body(term_code=HYPOKALEMIA, grade=1, lab={**lab, "symtomatic": False}),
        headers=desk.as_(Role.INVESTIGATOR),
    )
    assert misspelt.status_code == 422
    assert misspelt.json()["errors"][0]["loc"] == ["body", "lab", "symtomatic"]
    other_term = desk.client.post(
        "/v1/adverse-events",
        json=ae_body(grade=1, lab=lab),
        headers=desk.as_(Role.INVESTIGATOR),
    )
    assert other_term.status_code == 422
    assert other_term.json()["errors"][0]["loc"] == ["body", "lab", "term"]


def _observation(
    observation_id: str,
    *,
    code: str,
    value: float,
    unit: str,
    low: float | None = None,
    high: float | None = None,
    days_ago: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    reference_range = {
        **({"low": {"value": low, "unit": unit}} if low is not None else {}),
        **({"high": {"value": high, "unit": unit}} if high is not None else {}),
    }
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"identifier": {"system": "urn:doseline:study-subject-id", "value": SUBJECT}},
        "effectiveDateTime": f"{(site_today() - timedelta(days=days_ago)).isoformat()}"
        "T08:30:00+08:00",
        "valueQuantity": {"value": value, "unit": unit},
        **({"referenceRange": [reference_range]} if reference_range else {}),
        **extra,
    }


def _fact(name: str, value: Any) -> dict[str, Any]:
    key = "valueBoolean" if isinstance(value, bool) else "valueQuantity"
    return {
        "code": {"coding": [{"system": FACT_SYSTEM, "code": name}]},
        key: value if isinstance(value, bool) else {"value": value},
    }


def _intake(desk: Desk, *resources: dict[str, Any]) -> list[dict[str, Any]]:
    """Each resource posted alone; a refusal read from its OperationOutcome."""
    answers = []
    for resource in resources:
        response = desk.client.post(
            "/v1/fhir/Observation",
            content=json.dumps(resource),
            headers={
                **desk.auth(Role.EHR_INTEGRATION, subject="his"),
                "Content-Type": "application/fhir+json",
            },
        )
        if response.status_code >= 400:
            issue = response.json()["issue"][0]
            answers.append(
                {
                    "outcome": "rejected",
                    "status": str(response.status_code),
                    "detail": issue["diagnostics"],
                }
            )
            continue
        assert response.status_code in (200, 201), response.text
        answers.append(response.json())
    return answers


def _enrol_and_infuse(desk: Desk) -> None:
    desk.enrol(SUBJECT)
    desk.infuse(SUBJECT, day1=site_today() - timedelta(days=10))


def test_fhir_intake_reads_facts_from_components_and_contained_members(desk: Desk) -> None:
    _enrol_and_infuse(desk)
    potassium = {"code": "2823-3", "value": 3.2, "unit": "mmol/L", "low": 3.5, "high": 5.1}
    member = {
        "resourceType": "Observation",
        "id": "symptoms",
        "status": "final",
        "code": {"coding": [{"system": FACT_SYSTEM, "code": "symptomatic"}]},
        "valueBoolean": True,
    }
    entries = _intake(
        desk,
        _observation("k-asymptomatic", **potassium, component=[_fact("symptomatic", False)]),
        _observation(
            "k-symptomatic",
            **potassium,
            contained=[member],
            hasMember=[{"reference": "#symptoms"}],
        ),
        _observation("k-unknown", **potassium),
        _observation("k-misspelt", **potassium, component=[_fact("symtomatic", False)]),
    )
    grades = [(e["observation_id"], e["outcome"], e["grade"]) for e in entries[:3]]
    assert grades == [
        ("k-asymptomatic", "proposed", 1),
        ("k-symptomatic", "proposed", 2),
        ("k-unknown", "proposed", 2),
    ]
    assert entries[3]["outcome"] == "rejected"
    assert entries[3]["status"].startswith("422")
    assert "symtomatic" in entries[3]["detail"]


def test_fhir_intake_grades_a_troponin_against_the_assays_infarction_cut_off(desk: Desk) -> None:
    _enrol_and_infuse(desk)
    troponin = {"code": "67151-1", "unit": "ng/L", "high": 14}
    below, at, unknown = _intake(
        desk,
        _observation("tnt-1", value=40, component=[_fact("mi_level", 52)], **troponin),
        _observation("tnt-2", value=60, component=[_fact("mi_level", 52)], **troponin),
        _observation("tnt-3", value=60, **troponin),
    )
    assert (below["grade"], at["grade"]) == (1, 3)
    assert "myocardial infarction" in at["detail"]
    # Without the cut-off the number cannot decide: the worst grade is proposed and said so.
    assert unknown["grade"] == 3
    assert "mi_level" in unknown["detail"]


def test_fhir_intake_takes_the_baseline_from_the_subjects_pre_treatment_result(
    desk: Desk,
) -> None:
    desk.enrol(SUBJECT)
    day1 = site_today() - timedelta(days=10)
    desk.infuse(SUBJECT, day1=day1)
    alt = {"code": "1742-6", "unit": "U/L", "high": 40}
    (screening,) = _intake(desk, _observation("alt-screening", value=80, days_ago=12, **alt))
    # Before the first infusion: kept as history (the baseline), never proposed as an AE.
    assert screening["outcome"] == "history"
    (later,) = _intake(desk, _observation("alt-day-9", value=130, days_ago=1, **alt))
    # Baseline 80 U/L is above ULN: graded x baseline, 130 / 80 = 1.6 -> grade 1.
    assert (later["outcome"], later["grade"]) == ("proposed", 1)
    assert "baseline 80 U/L taken as abnormal" in later["detail"]


def test_a_safety_physician_gets_the_disagreements_of_a_case_file_per_term(desk: Desk) -> None:
    csv = (
        "term,value,unit,expected_grade,baseline,case_id\n"
        "qtc_interval_prolonged,480.5,ms,1,470,local-1\n"
        "qtc_interval_prolonged,450,ms,1,440,local-2\n"
    )
    headers = {**desk.as_(Role.SAFETY_PHYSICIAN), "Content-Type": "text/csv"}
    response = desk.client.post("/v1/grading/lab/agreement", content=csv, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["cases"], report["agreeing"], report["differing"]) == (2, 1, 1)
    (term,) = report["terms"]
    assert term["ctcae_term"] == "Electrocardiogram QT corrected interval prolonged"
    assert "Grade 2: Average QTc 481 - 500 ms" in term["criterion"]
    (case,) = term["differing"]
    assert (case["case_id"], case["expected_grade"], case["doseline_grade"]) == ("local-1", 1, 2)

    unknown = desk.client.post(
        "/v1/grading/lab/agreement", content="term,value,unit,expected,x\n", headers=headers
    )
    assert unknown.status_code == 422
    assert "expected_grade" in unknown.json()["detail"]
    investigator = {**desk.as_(Role.INVESTIGATOR), "Content-Type": "text/csv"}
    refused = desk.client.post("/v1/grading/lab/agreement", content=csv, headers=investigator)
    assert refused.status_code == 403
