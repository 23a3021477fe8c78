"""Grading assistance: forms, proposed grades beside the investigator's, the overlap flag."""

from __future__ import annotations

from typing import Any

import pytest

from doseline.auth import Role

from .conftest import Desk, ae_body

SUBJECT = "HDMSC-RP-01-001"
SEVERE_PNEUMONITIS = {
    "death": False,
    "life_threatening": False,
    "urgent_intervention": False,
    "symptomatic": True,
    "severity": "severe",
    "adl_limitation": "self_care",
    "oxygen": "continuous",
}


def test_the_forms_cover_the_nine_clinical_terms_with_their_questions(desk: Desk) -> None:
    forms = desk.client.get("/v1/grading/clinical", headers=desk.as_(Role.COORDINATOR)).json()
    assert len(forms) == 9
    pneumonitis = next(form for form in forms if form["term"] == "pneumonitis")
    assert pneumonitis["meddra_code"] == "10035742"
    oxygen = next(q for q in pneumonitis["questions"] if q["id"] == "oxygen")
    assert oxygen["choices"] == ["none", "intermittent", "continuous"]


def test_fever_at_the_start_of_an_infusion_flags_the_overlapping_reaction_terms(
    desk: Desk,
) -> None:
    graded = desk.client.post(
        "/v1/grading/clinical/infusion_related_reaction",
        json={"answers": {"began_with_infusion": True, "fever": True}},
        headers=desk.as_(Role.INVESTIGATOR),
    )
    assert graded.status_code == 200, graded.text
    overlap = graded.json()["overlap"]
    assert {c["ctcae_term"] for c in overlap["candidates"]} == {
        "Infusion related reaction",
        "Cytokine release syndrome",
        "Fever",
    }


@pytest.mark.parametrize(
    ("url", "answers", "loc"),
    [
        ("/v1/grading/clinical/pneumonitis", {"oxygen": "supplemental"}, "oxygen"),
        ("/v1/grading/clinical/pneumonitis", {"sneezing": True}, "sneezing"),
    ],
)
def test_a_bad_answer_is_422_naming_the_question(
    desk: Desk, url: str, answers: dict[str, Any], loc: str
) -> None:
    response = desk.client.post(url, json={"answers": answers}, headers=desk.as_(Role.INVESTIGATOR))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == loc


def test_an_unknown_clinical_term_is_422(desk: Desk) -> None:
    response = desk.client.post(
        "/v1/grading/clinical/headache", json={"answers": {}}, headers=desk.as_(Role.INVESTIGATOR)
    )
    assert response.status_code == 422


def test_a_lab_value_is_graded_in_either_unit_system(desk: Desk) -> None:
    for value, unit in (("7.5", "g/dL"), ("75", "g/L")):
        graded = desk.client.post(
            "/v1/grading/lab",
            json={
                "term": "anemia",
                "value": value,
                "unit": unit,
                "lln": "12.0" if unit == "g/dL" else "120",
            },
            headers=desk.as_(Role.INVESTIGATOR),
        )
        assert graded.status_code == 200, graded.text
        assert (graded.json()["ctcae_term"], graded.json()["grade"]) == ("Anemia", 3)
    huge = desk.client.post(
        "/v1/grading/lab",
        json={"term": "anemia", "value": "1e400000", "unit": "g/dL"},
        headers=desk.as_(Role.INVESTIGATOR),
    )
    assert huge.status_code == 422
    unknown = desk.client.post(
        "/v1/grading/lab",
        json={"term": "unobtainium", "value": "1", "unit": "g/L"},
        headers=desk.as_(Role.INVESTIGATOR),
    )
    assert unknown.status_code == 422


def test_the_proposed_grade_is_stored_beside_the_investigators_and_disagreements_listed(
    desk: Desk,
) -> None:
    desk.enrol(SUBJECT)
    ae = desk.report(grade=2, clinical_answers=SEVERE_PNEUMONITIS)
    assert (ae["current"]["grade"], ae["current"]["proposed_grade"]) == (2, 3)
    assert ae["current"]["grading_basis"]["decided_by"] == ["adl_limitation", "oxygen", "severity"]
    agreed = desk.report(grade=3, clinical_answers=SEVERE_PNEUMONITIS)
    disagreements = desk.client.get(
        "/v1/trials/HDMSC-RP-01/grade-disagreements", headers=desk.as_(Role.MONITOR)
    ).json()
    assert [d["ae_id"] for d in disagreements] == [ae["id"]]
    assert agreed["id"] not in {d["ae_id"] for d in disagreements}


def test_answers_for_a_term_without_a_form_are_refused(desk: Desk) -> None:
    desk.enrol(SUBJECT)
    problem = desk.report(
        422,
        **ae_body(term_code="10013963", grade=2)
        | {
            "term_code": "10019211",  # Headache: no structured form
            "clinical_answers": {"severity": "mild"},
        },
    )
    assert problem["errors"][0]["loc"] == ["body", "clinical_answers"]
