"""Lab results written by others — HL7's R4 and US Core examples, a Synthea record — as received.

Each file under tests/data/real/fhir (origin, licence and expected outcome in SOURCES.md, section
"FHIR lab results (safety)") is sent unmodified: alone as the request body; as published (the
Synthea transaction, HL7's lipid report collection); or inside a collection Bundle whose text is
written here around the files' own bytes (never re-serialised), so that an Observation travels
with its Patient and a DiagnosticReport with its results, as an EHR sends them.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from doseline.auth import Role
from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY, hospital_id_hash
from safety.ehr.loinc import lab_terms_for
from safety.ehr.models import ProposedAdverseEventRow

from .conftest import Desk

REAL = Path(__file__).resolve().parents[4] / "tests" / "data" / "real" / "fhir"
FHIR_JSON = "application/fhir+json"
OUTCOME_SYSTEM = "urn:doseline:lab-intake-outcome"
SENDER = "his"
SUBJECT = "HDMSC-RP-01-001"

# The Patients' own identifiers (system, value), as the files state them.
PIETER = ("urn:oid:2.16.840.1.113883.2.4.6.3", "738472983")  # hl7-r4 patient f001
ROEL = ("urn:oid:2.16.840.1.113883.2.4.6.3", "123456789")  # hl7-r4 patient f201
AMY_SHAW = ("http://example.org/patient/identifiers", "1032702")  # us-core Patient/example
THANH = ("http://hospital.smarthealthit.org", "b7a86b8b-bbf8-4107-96e6-76a948fba0e8")  # Synthea
SYNTHEA_FILE = "synthea/Thanh_Considine_b7a86b8b-bbf8-4107-96e6-76a948fba0e8.json"

METABOLIC_PANEL = [
    "us-core/patient-example.json",
    "us-core/diagnosticreport-metabolic-panel.json",
    "us-core/observation-serum-sodium.json",
    "us-core/observation-serum-potassium.json",
    "us-core/observation-serum-creatinine.json",
    "us-core/observation-serum-co2.json",
    "us-core/observation-serum-chloride.json",
    "us-core/observation-serum-calcium.json",
    "us-core/observation-serum-bun.json",
    "us-core/observation-serum-glucose.json",
]
CBC = [
    "us-core/patient-example.json",
    "us-core/diagnosticreport-cbc.json",
    "us-core/observation-cbc-leukocytes.json",
    "us-core/observation-cbc-erythrocytes.json",
    "us-core/observation-cbc-hemoglobin.json",
    "us-core/observation-cbc-hematocrit.json",
    "us-core/observation-cbc-mcv.json",
    "us-core/observation-cbc-mch.json",
    "us-core/observation-cbc-mchc.json",
    "us-core/observation-cbc-platelets.json",
]


def raw(name: str) -> bytes:
    return (REAL / name).read_bytes()


def collection(*names: str) -> bytes:
    """A collection Bundle whose entries are the files' bytes, untouched."""
    entries = b",".join(b'{"resource":' + raw(name) + b"}" for name in names)
    return b'{"resourceType":"Bundle","type":"collection","entry":[' + entries + b"]}"


def send(desk: Desk, content: bytes) -> Any:
    return desk.client.post(
        "/v1/fhir/Observation",
        content=content,
        headers={**desk.auth(Role.EHR_INTEGRATION, subject=SENDER), "Content-Type": FHIR_JSON},
    )


def bundle_answer(desk: Desk, content: bytes) -> dict[str, Any]:
    response = send(desk, content)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["resourceType"] == "Bundle"
    return answer


def refusal(desk: Desk, content: bytes) -> str:
    """A lone Observation that cannot be used: 4xx, an OperationOutcome saying why."""
    response = send(desk, content)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    text: str = outcome["issue"][0]["diagnostics"]
    return text


def entry_outcome(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(status, intake outcome, diagnostics) of one batch-response entry."""
    response = entry["response"]
    issue = response["outcome"]["issue"][0]
    coding = issue["details"]["coding"][0]
    assert coding["system"] == OUTCOME_SYSTEM, issue
    return response["status"], coding["code"], issue.get("diagnostics", "")


def statuses_and_outcomes(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [entry_outcome(entry)[:2] for entry in answer["entry"]]


def proposals(desk: Desk) -> list[tuple[str, str, int]]:
    """(observation id, CTCAE term, proposed grade) of every proposed AE, sorted."""
    listed = desk.client.get(
        "/v1/proposed-adverse-events", params={"limit": 1000}, headers=desk.as_(Role.MONITOR)
    )
    assert listed.status_code == 200, listed.text
    return sorted((p["observation_id"], p["term"], p["proposed_grade"]) for p in listed.json())


def proposal_rows(desk: Desk) -> int:
    with desk.db() as session:
        return session.scalar(select(func.count()).select_from(ProposedAdverseEventRow)) or 0


def enrol(desk: Desk, identifier: tuple[str, str], *, day1: date) -> None:
    """Enrol the subject under the Patient's hospital identifier and give the first infusion."""
    system, value = identifier
    desk.enrol(
        SUBJECT, hashes=[hospital_id_hash(DEVELOPMENT_IDENTIFIER_KEY, system=system, value=value)]
    )
    desk.infuse(SUBJECT, day1=day1)


CREATED, OK = "201 Created", "200 OK"
NOT_FOUND = "404 Not Found"


# --------------------------------------------------------------------------------------------
# HL7 FHIR R4 core examples


def test_pieters_hemoglobin_of_7_2_proposes_grade_3_anemia_through_his_patients_identifier(
    desk: Desk,
) -> None:
    # Day 1 on 2 April 2013: the glucose (2 April) and hemoglobin (5 April) are in the period.
    enrol(desk, PIETER, day1=date(2013, 4, 1))
    answer = bundle_answer(
        desk,
        collection(
            "hl7-r4/patient-example-f001-pieter.json",
            "hl7-r4/observation-example-f001-glucose.json",
            "hl7-r4/observation-example-f005-hemoglobin.json",
            "hl7-r4/observation-example-f004-erythrocyte.json",
        ),
    )
    assert answer["type"] == "batch-response"
    assert statuses_and_outcomes(answer) == [
        (OK, "skipped"),  # the Patient: used to match the subject
        (CREATED, "graded"),  # glucose 6.3 mmol/L (15074-8): no hypoglycemia
        (CREATED, "proposed"),  # hemoglobin 7.2 g/dL: CTCAE Anemia grade 3 is Hgb < 8.0 g/dL
        (OK, "skipped"),  # erythrocytes (789-8): no CTCAE term grades a red cell count
    ]
    assert "789-8" in entry_outcome(answer["entry"][3])[2]
    assert proposals(desk) == [("f005", "Anemia", 3)]


def test_roels_results_without_a_graded_loinc_code_or_value_are_skipped_saying_why(
    desk: Desk,
) -> None:
    enrol(desk, ROEL, day1=date(2013, 3, 1))
    answer = bundle_answer(
        desk,
        collection(
            "hl7-r4/patient-example-f201-roel.json",
            "hl7-r4/observation-example-f202-temperature.json",
            "hl7-r4/observation-example-f204-creatinine.json",
            "hl7-r4/observation-example-f206-staphylococcus.json",
        ),
    )
    outcomes = [entry_outcome(entry) for entry in answer["entry"]]
    assert [(status, outcome) for status, outcome, _ in outcomes] == [
        (OK, "skipped"),
        (OK, "ignored"),  # 39 °C, but entered-in-error: never graded
        (OK, "skipped"),  # creatinine coded only in the hospital's own system (20005)
        (OK, "skipped"),  # a blood culture: a coded organism, no quantity
    ]
    assert "entered in error" in outcomes[1][2]
    assert "LOINC" in outcomes[2][2]
    assert "600-7" in outcomes[3][2]
    assert proposals(desk) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("hl7-r4/observation-example.json", "29463-7"),  # body weight: a vital sign, not a lab
        ("hl7-r4/observation-example-f204-creatinine.json", "LOINC"),
        ("hl7-r4/observation-example-f206-staphylococcus.json", "600-7"),
    ],
)
def test_a_lone_observation_that_is_not_a_gradable_lab_result_is_refused_with_the_reason(
    desk: Desk, name: str, fragment: str
) -> None:
    enrol(desk, ROEL, day1=date(2013, 3, 1))
    assert fragment in refusal(desk, raw(name))
    assert proposal_rows(desk) == 0


def test_hl7s_lipid_report_is_read_with_its_results_whose_molar_lipid_codes_are_not_graded(
    desk: Desk,
) -> None:
    # Its Patient/pat2 is neither in the Bundle nor enrolled: results that are not graded do not
    # need a subject, so none is refused for it.
    enrol(desk, AMY_SHAW, day1=date(2011, 3, 1))
    answer = bundle_answer(desk, raw("hl7-r4/diagnosticreport-example-lipids.json"))
    published = json.loads(raw("hl7-r4/diagnosticreport-example-lipids.json"))
    assert len(answer["entry"]) == len(published["entry"]) == 5
    outcomes = [entry_outcome(entry) for entry in answer["entry"]]
    assert [(status, outcome) for status, outcome, _ in outcomes] == [
        (OK, "report"),
        *[(OK, "skipped")] * 4,
    ]
    assert "4 of its results" in outcomes[0][2]
    # Cholesterol and triglyceride in mmol/L (35200-5, 35217-9), HDL, LDL: no CTCAE grading.
    for (_, _, detail), code in zip(
        outcomes[1:], ["35200-5", "35217-9", "2085-9", "13457-7"], strict=True
    ):
        assert f"LOINC {code}" in detail
    assert proposal_rows(desk) == 0


# --------------------------------------------------------------------------------------------
# US Core examples: Amy Shaw's metabolic panel and blood count of 5 July 2005


def test_us_cores_metabolic_panel_grades_each_result_and_proposes_the_creatinine_of_1_67_x_uln(
    desk: Desk,
) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 7, 1))
    answer = bundle_answer(desk, collection(*METABOLIC_PANEL))
    assert statuses_and_outcomes(answer) == [
        (OK, "skipped"),  # Patient
        (OK, "report"),  # the DiagnosticReport: its results are the entries that follow
        (CREATED, "graded"),  # sodium 137 mmol/L
        (CREATED, "graded"),  # potassium 5.4 mmol/L (3.5-5.5)
        (CREATED, "proposed"),  # creatinine 1.0 mg/dL, ULN 0.6: >1.5-3.0 x ULN is grade 2
        (OK, "skipped"),  # total CO2 (2028-9)
        (OK, "skipped"),  # chloride (2075-0)
        (OK, "skipped"),  # calcium (17861-6), total not corrected: no CTCAE grade from it
        (OK, "skipped"),  # urea nitrogen (3094-0)
        (CREATED, "graded"),  # glucose 76 mg/dL
    ]
    assert proposals(desk) == [("serum-creatinine", "Creatinine increased", 2)]


def test_us_cores_panel_without_its_patient_is_not_found_for_each_graded_result(
    desk: Desk,
) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 7, 1))
    answer = bundle_answer(desk, collection(*METABOLIC_PANEL[1:]))
    outcomes = [entry_outcome(entry) for entry in answer["entry"]]
    graded = [1, 2, 3, 8]  # sodium, potassium, creatinine, glucose
    for index, (status, outcome, detail) in enumerate(outcomes):
        if index in graded:
            assert status == NOT_FOUND, outcomes[index]
            assert "Patient/example" in detail
            assert "subject.identifier" in detail
        else:
            assert (status, outcome) in {(OK, "report"), (OK, "skipped")}, outcomes[index]
    assert proposal_rows(desk) == 0


def test_us_cores_blood_count_taken_before_the_first_infusion_is_kept_as_history(
    desk: Desk,
) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 8, 1))
    answer = bundle_answer(desk, collection(*CBC))
    outcomes = dict(
        zip(
            [name.rsplit("/", 1)[1] for name in CBC],
            statuses_and_outcomes(answer),
            strict=True,
        )
    )
    graded_analytes = [
        "observation-cbc-leukocytes.json",
        "observation-cbc-hemoglobin.json",
        "observation-cbc-platelets.json",
    ]
    assert {outcomes.pop(name) for name in graded_analytes} == {(CREATED, "history")}
    assert outcomes.pop("diagnosticreport-cbc.json") == (OK, "report")
    # The Patient; erythrocytes, hematocrit, MCV (the last two with ranges written backwards),
    # MCH, MCHC: no CTCAE term grades them.
    assert set(outcomes.values()) == {(OK, "skipped")}
    assert len(outcomes) == 6
    assert proposals(desk) == []


def test_the_same_panel_delivered_twice_creates_nothing_the_second_time(desk: Desk) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 7, 1))
    first = bundle_answer(desk, collection(*METABOLIC_PANEL))
    assert Counter(outcome for _, outcome in statuses_and_outcomes(first))["proposed"] == 1
    again = statuses_and_outcomes(bundle_answer(desk, collection(*METABOLIC_PANEL)))
    recorded = [2, 3, 4, 9]  # sodium, potassium, creatinine, glucose
    assert [again[index] for index in recorded] == [(OK, "duplicate")] * 4
    assert proposal_rows(desk) == 1


def test_a_lone_result_is_matched_by_a_patient_reference_seen_before_from_the_same_sender(
    desk: Desk,
) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 7, 1))
    creatinine = raw("us-core/observation-serum-creatinine.json")
    before = refusal(desk, creatinine)
    assert "Patient/example" in before
    assert "subject.identifier" in before

    # The Patient travels with another of her results; the creatinine comes later, alone.
    glucose = bundle_answer(
        desk, collection("us-core/patient-example.json", "us-core/observation-serum-glucose.json")
    )
    assert statuses_and_outcomes(glucose) == [(OK, "skipped"), (CREATED, "graded")]
    first = send(desk, creatinine)
    assert first.status_code == 201, first.text
    assert first.headers["X-Intake-Action"] == "proposed"
    body = first.json()
    assert (body["observation_id"], body["outcome"]) == ("serum-creatinine", "proposed")
    assert (body["term"], body["grade"]) == ("Creatinine increased", 2)
    assert body["proposal_id"] is not None
    assert body["version_id"]

    again = send(desk, creatinine)
    assert again.status_code == 200, again.text
    assert again.headers["X-Intake-Action"] == again.json()["outcome"] == "duplicate"
    assert proposals(desk) == [("serum-creatinine", "Creatinine increased", 2)]


def test_us_core_vital_signs_body_temperature_is_kept_and_bmi_is_skipped(desk: Desk) -> None:
    enrol(desk, AMY_SHAW, day1=date(2005, 7, 1))
    answer = bundle_answer(
        desk,
        collection("us-core/patient-example.json", "us-core/temperature.json", "us-core/bmi.json"),
    )
    assert statuses_and_outcomes(answer) == [
        (OK, "skipped"),
        (CREATED, "history"),  # 36.6 °C on 2 July 1999, years before day 1
        (OK, "skipped"),  # BMI (39156-5): a vital sign no CTCAE term grades
    ]


# --------------------------------------------------------------------------------------------
# Synthea: one patient's record, 2012-2020, as the transaction Bundle Synthea writes

# Day 1 a month before the last visit: only the panel of 5 December 2020 is in the period.
SYNTHEA_DAY1 = date(2020, 11, 1)


def _type(entry: dict[str, Any]) -> str:
    kind: str = entry["resource"]["resourceType"]
    return kind


def _synthea_labs() -> list[tuple[int, dict[str, Any]]]:
    bundle = json.loads(raw(SYNTHEA_FILE))
    labs = []
    for index, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        categories = {
            coding.get("code")
            for category in resource.get("category", [])
            for coding in category.get("coding", [])
        }
        if resource["resourceType"] == "Observation" and "laboratory" in categories:
            labs.append((index, resource))
    return labs


def test_a_synthea_record_grades_the_results_of_the_period_and_keeps_the_rest_as_history(
    desk: Desk,
) -> None:
    enrol(desk, THANH, day1=SYNTHEA_DAY1)
    answer = bundle_answer(desk, raw(SYNTHEA_FILE))
    published = json.loads(raw(SYNTHEA_FILE))
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(published["entry"]) == 261
    outcomes = [entry_outcome(entry) for entry in answer["entry"]]
    assert not [o for o in outcomes if o[0].startswith("5")]

    labs = _synthea_labs()
    assert len(labs) == 128
    # Each lab's route follows from the file alone: a code the shipped LOINC coverage grades is
    # history before day 1 and graded from day 1 on; any other code is skipped, saying which.
    in_period = set()
    for index, resource in labs:
        status, outcome, diagnostics = outcomes[index]
        code = resource["code"]["coding"][0]["code"]
        taken = date.fromisoformat(resource["effectiveDateTime"][:10])
        if lab_terms_for([code]) is None:
            assert (status, outcome) == (OK, "skipped"), (code, outcomes[index])
            assert f"LOINC {code}" in diagnostics
        elif taken < SYNTHEA_DAY1:
            assert (status, outcome) == (CREATED, "history"), (code, outcomes[index])
        else:
            assert status == CREATED, (code, outcomes[index])
            assert outcome in {"graded", "proposed"}, (code, outcomes[index])
            in_period.add(resource["id"])
    assert len(in_period) == 11  # the graded analytes of the panel of 5 December 2020
    assert outcomes[0][:2] == (OK, "skipped")  # the Patient, used to match the subject
    reports = [i for i, e in enumerate(published["entry"]) if _type(e) == "DiagnosticReport"]
    assert {outcomes[index][:2] for index in reports} == {(OK, "report")}
    others = set(range(len(outcomes))) - {index for index, _ in labs} - set(reports)
    assert {outcomes[index][:2] for index in others} == {(OK, "skipped")}

    # 5 December 2020, a man of 50, no reference range in the file, so the shipped adult
    # ranges (ABIM): glucose 66.5 mg/dL is below the LLN 70 (CTCAE Hypoglycemia grade 1
    # '<LLN - 55 mg/dL'); creatinine 3.26 mg/dL is 2.5 x the male ULN 1.3 (grade 2 '>1.5 - 3.0 x
    # ULN'; 1.3 x the baseline 2.50 of 2019, short of grade 3's 3 x baseline). ALT 43.3 U/L is
    # above the ULN 40, but its baseline (52.4 U/L in 2019) was abnormal and grade 1 then needs
    # 1.5 x baseline: grade 0.
    proposed = proposals(desk)
    assert {observation for observation, _, _ in proposed} <= in_period
    assert sorted((term, grade) for _, term, grade in proposed) == [
        ("Creatinine increased", 2),
        ("Hypoglycemia", 1),
    ]

    # The same bytes again: nothing new.
    again = [entry_outcome(entry) for entry in bundle_answer(desk, raw(SYNTHEA_FILE))["entry"]]
    assert {again[index][1] for index, _ in labs} <= {"duplicate", "skipped"}
    assert proposals(desk) == proposed
