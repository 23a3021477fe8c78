"""Recording outcomes through the API: the acceptance numbers, visits, conventions, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from doseline import audit
from doseline.auth import Role
from imaging.assessments.models import AssessmentRow
from imaging.sgrq.weights import ITEMS, Component, Instrument

from .conftest import DAY_1, LAST_INFUSION_DAY, SUBJECT, Desk, at_site

PFT_MAN_60 = {"sex": "male", "age_years": 60, "height_cm": 170, "fev1_l": 2.5}
ROOM_AIR_GAS = {"ph": 7.40, "pao2": 80, "paco2": 40, "fio2": 0.21, "age_years": 60}


@pytest.fixture
def treated(desk: Desk) -> Desk:
    desk.enrol()
    desk.treat()
    return desk


def test_pft_gli_global_man_60_170_fev1_2_5_matches_the_reference_values(treated: Desk) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {**PFT_MAN_60, "performed_at": at_site(DAY_1 - timedelta(days=3))},
    )
    fev1 = body["results"]["fev1"]
    assert fev1["lms_m"] == pytest.approx(3.033, abs=5e-4)
    assert fev1["percent_predicted"] == pytest.approx(82.42, abs=5e-3)
    assert fev1["z_score"] == pytest.approx(-1.13, abs=5e-3)
    assert fev1["lln"] == pytest.approx(2.251, abs=5e-4)
    assert fev1["equation"] == "GLI Global 2022"
    assert body["metrics"]["fev1_percent_predicted"] == pytest.approx(82.42, abs=5e-3)
    assert body["visit"] == "baseline"


def test_blood_gas_on_room_air_at_sea_level_gives_pao2_alveolar_99_73_and_a_a_19_73(
    treated: Desk,
) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=1))},
    )
    assert body["results"]["alveolar_po2_mmhg"] == pytest.approx(99.73, abs=5e-3)
    assert body["results"]["aa_gradient_mmhg"] == pytest.approx(19.73, abs=5e-3)
    assert body["results"]["barometric_pressure_mmhg"] == 760


def test_blood_gas_pressures_in_kpa_give_the_same_gradient(treated: Desk) -> None:
    kpa = 7.50062
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {
            **ROOM_AIR_GAS,
            "pao2": 80 / kpa,
            "paco2": 40 / kpa,
            "pressure_unit": "kPa",
            "performed_at": at_site(DAY_1 - timedelta(days=1)),
        },
    )
    assert body["results"]["aa_gradient_mmhg"] == pytest.approx(19.73, abs=5e-3)


def _answers(worst: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in ITEMS[Instrument.SGRQ]:
        if item.is_true_false:
            answers[item.item] = worst
        else:
            ranked = sorted(item.weights, key=lambda option: item.weights[option])
            answers[item.item] = ranked[-1] if worst else ranked[0]
    return answers


@pytest.mark.parametrize(("worst", "expected"), [(True, 100.0), (False, 0.0)])
def test_sgrq_all_worst_answers_score_100_and_all_best_score_0(
    treated: Desk, worst: bool, expected: float
) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/sgrq",
        {"responses": _answers(worst), "performed_at": at_site(DAY_1 - timedelta(days=2))},
    )
    for name in ("sgrq_symptoms", "sgrq_activity", "sgrq_impacts", "sgrq_total"):
        assert body["metrics"][name] == pytest.approx(expected)


def test_sgrq_three_missing_symptom_items_invalidate_symptoms_and_the_total(treated: Desk) -> None:
    answers = _answers(worst=True)
    for item in ("1", "2", "3"):
        answers[item] = None
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/sgrq",
        {"responses": answers, "performed_at": at_site(DAY_1 - timedelta(days=2))},
    )
    assert body["metrics"]["sgrq_symptoms"] is None
    assert body["metrics"]["sgrq_total"] is None
    assert body["metrics"]["sgrq_activity"] == pytest.approx(100.0)
    assert body["results"]["total_invalid_reason"] == "invalid component(s): symptoms"


def test_sgrq_one_missing_item_shrinks_its_components_denominator(treated: Desk) -> None:
    answers = _answers(worst=False)
    answers["1"] = 1  # the worst cough option
    answers["2"] = None
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/sgrq",
        {"responses": answers, "performed_at": at_site(DAY_1 - timedelta(days=2))},
    )
    symptoms = body["results"]["symptoms"]
    assert symptoms["missing_items"] == ["2"]
    assert symptoms["maximum_weight_sum"] == pytest.approx(662.5 - 76.8)
    assert symptoms["score"] == pytest.approx(100 * 80.6 / (662.5 - 76.8))
    assert Component.SYMPTOMS.value == "symptoms"


def test_a_walk_test_gives_percent_predicted_by_enright_and_sherrill(treated: Desk) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/walk-tests",
        {
            "sex": "male",
            "age_years": 60,
            "height_cm": 170,
            "weight_kg": 70,
            "distance_m": 442.8,
            "course_length_m": 30,
            "stops": 0,
            "spo2_before_percent": 96,
            "spo2_end_percent": 91,
            "spo2_lowest_percent": 89,
            "borg_dyspnoea_before": 0.5,
            "borg_dyspnoea_after": 3,
            "performed_at": at_site(DAY_1 - timedelta(days=2)),
        },
    )
    # Enright & Sherrill 1998: 7.57·170 − 5.02·60 − 1.76·70 − 309 = 553.5 m.
    assert body["results"]["reference"]["predicted_m"] == pytest.approx(553.5)
    assert body["metrics"]["distance_percent_predicted"] == pytest.approx(80.0)
    assert body["metrics"]["spo2_nadir_percent"] == 89


def test_an_assessment_for_a_subject_imaging_has_not_heard_of_is_409_and_stores_nothing(
    desk: Desk,
) -> None:
    response = desk.client.post(
        "/v1/subjects/HDMSC-RP-01-099/blood-gases",
        json={**ROOM_AIR_GAS, "performed_at": at_site(DAY_1)},
        headers=desk.as_(),
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/subject-not-known-yet"
    with desk.db() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRow)) == 0


def test_a_follow_up_before_the_last_infusion_is_known_is_pending_then_assigned(
    desk: Desk,
) -> None:
    desk.enrol()
    desk.infuse(number=1)
    month_1 = desk.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=33))},
    )
    assert month_1["visit"] is None
    assert month_1["visit_pending_reason"] == "the subject's last infusion is not known yet"
    # The infusions arrive late and out of order.
    for number in (4, 3, 2):
        desk.infuse(number=number)
    again = desk.client.get(f"/v1/assessments/{month_1['id']}", headers=desk.as_())
    assert again.json()["visit"] == "month_1"
    assert again.json()["days_from_target"] == 2
    assert again.json()["out_of_window"] is False


def test_an_assessment_outside_its_window_is_kept_and_flagged(treated: Desk) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=45))},
    )
    # Target of month 1 is 14 Feb (last infusion 14 Jan); 28 Feb is 14 days late, window ±7.
    assert body["visit"] == "month_1"
    assert body["visit_target_on"] == "2026-02-14"
    assert body["out_of_window"] is True


def test_the_site_calendar_day_decides_baseline_not_the_utc_day(treated: Desk) -> None:
    # 07:00 on day 1 in Shanghai is 23:00 UTC the day before; the infusion is at 09:00.
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1, hour=7)},
    )
    assert body["performed_on"] == DAY_1.isoformat()
    assert body["visit"] == "baseline"
    after_dose = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1, hour=11)},
    )
    assert after_dose["visit"] == "month_1"
    assert after_dose["out_of_window"] is True


def test_the_subject_calendar_lists_the_visits_with_their_windows(treated: Desk) -> None:
    response = treated.client.get(f"/v1/subjects/{SUBJECT}", headers=treated.as_(Role.MONITOR))
    assert response.status_code == 200, response.text
    calendar = {visit["visit"]: visit for visit in response.json()["calendar"]}
    assert calendar["month_1"]["target_on"] == "2026-02-14"
    assert calendar["month_1"]["window_start"] == "2026-02-07"
    assert calendar["month_6"]["window_end"] == "2026-07-28"
    assert response.json()["dose_level"] == 1


def test_a_retried_create_with_the_same_idempotency_key_records_once(treated: Desk) -> None:
    headers = treated.as_()
    body = {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=1))}
    first = treated.client.post(f"/v1/subjects/{SUBJECT}/blood-gases", json=body, headers=headers)
    second = treated.client.post(f"/v1/subjects/{SUBJECT}/blood-gases", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    with treated.db() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRow)) == 1


def test_voiding_needs_if_match_and_a_reason_and_keeps_the_record(treated: Desk) -> None:
    created = treated.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=1))},
    )
    path = f"/v1/assessments/{created['id']}/void"
    reason = {"reason": "sample was venous, not arterial"}
    assert treated.client.post(path, json=reason, headers=treated.as_()).status_code == 428
    stale = {**treated.as_(), "If-Match": '"v9"'}
    assert treated.client.post(path, json=reason, headers=stale).status_code == 412
    current = {**treated.as_(), "If-Match": '"v1"'}
    assert treated.client.post(path, json={}, headers=current).status_code == 422
    voided = treated.client.post(path, json=reason, headers=current)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert voided.headers["ETag"] == '"v2"'
    listed = treated.client.get(f"/v1/subjects/{SUBJECT}/assessments", headers=treated.as_())
    assert [item["status"] for item in listed.json()["items"]] == ["voided"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("blood-gases", {**ROOM_AIR_GAS, "paco2": 5.3}, "PaCO2"),
        ("blood-gases", {**ROOM_AIR_GAS, "fio2": 21}, "FiO2"),
        ("pulmonary-function-tests", {**PFT_MAN_60, "fev1_l": 2500}, "FEV1"),
        ("pulmonary-function-tests", {**PFT_MAN_60, "height_cm": 1.7}, "height"),
        ("pulmonary-function-tests", {"sex": "male", "age_years": 60, "height_cm": 170}, "one"),
        ("ct-measurements", {"lung_ml": 4.2, "lesion_ml": 0.1}, "plausible"),
        ("ct-measurements", {"lung_ml": 4200, "lesion_ml": 5000}, "exceeds"),
        ("sgrq", {"responses": {"99": 1}}, "99"),
        ("sgrq", {"responses": {"1": 9}}, "1"),
        (
            "walk-tests",
            {
                "sex": "male",
                "age_years": 60,
                "height_cm": 170,
                "weight_kg": 70,
                "distance_m": 400,
                "course_length_m": 30,
                "stops": 0,
                "borg_dyspnoea_after": 11,
            },
            "Borg",
        ),
    ],
)
def test_implausible_values_are_422_problems_that_say_what_is_wrong(
    treated: Desk, path: str, body: dict[str, Any], field: str
) -> None:
    response = treated.client.post(
        f"/v1/subjects/{SUBJECT}/{path}",
        json={**body, "performed_at": at_site(DAY_1 - timedelta(days=1))},
        headers=treated.as_(),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]
    with treated.db() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRow)) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"lung_ml": 4200, "lesion_ml": 100, "performed_at": "2026-01-01T10:00:00"},
        {"lung_ml": 4200, "lesion_ml": 100, "performed_at": "2099-01-01T10:00:00+08:00"},
        {"lung_ml": "a lot", "lesion_ml": 100, "performed_at": "2026-01-01T10:00:00+08:00"},
        {"lung_ml": 4200, "performed_at": "2026-01-01T10:00:00+08:00"},
    ],
)
def test_malformed_or_naive_or_future_times_are_422(treated: Desk, body: dict[str, Any]) -> None:
    response = treated.client.post(
        f"/v1/subjects/{SUBJECT}/ct-measurements", json=body, headers=treated.as_()
    )
    assert response.status_code == 422, response.text


def test_a_monitor_reads_but_cannot_record_and_ehr_systems_cannot_read(treated: Desk) -> None:
    body = {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=1))}
    monitor = treated.client.post(
        f"/v1/subjects/{SUBJECT}/blood-gases", json=body, headers=treated.as_(Role.MONITOR)
    )
    assert monitor.status_code == 403
    ehr = treated.client.get(
        f"/v1/subjects/{SUBJECT}/assessments", headers=treated.as_(Role.EHR_INTEGRATION)
    )
    assert ehr.status_code == 403
    for role in (Role.COORDINATOR, Role.INVESTIGATOR, Role.OUTCOMES_ASSESSOR):
        response = treated.client.post(
            f"/v1/subjects/{SUBJECT}/blood-gases", json=body, headers=treated.as_(role)
        )
        assert response.status_code == 201, response.text


def test_a_correction_needs_if_match_and_a_reason_and_derives_the_results_again(
    treated: Desk,
) -> None:
    created = treated.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {**PFT_MAN_60, "fev1_l": 2.0, "performed_at": at_site(DAY_1 - timedelta(days=3))},
    )
    path = f"/v1/assessments/{created['id']}/corrections"
    values = {**PFT_MAN_60, "performed_at": at_site(DAY_1 - timedelta(days=3))}
    body = {"reason": "FEV1 transcribed from the wrong manoeuvre", "values": values}
    assert treated.client.post(path, json=body, headers=treated.as_()).status_code == 428
    current = {**treated.as_(), "If-Match": '"v1"'}
    bad = treated.client.post(
        path, json={**body, "values": {**values, "fev1_l": "two"}}, headers=current
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "values", "fev1_l"]
    corrected = treated.client.post(path, json=body, headers=current)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["results"]["fev1"]["percent_predicted"] == pytest.approx(82.42, 1e-4)
    assert corrected.headers["ETag"] == '"v2"'
    with treated.db() as session:
        history = audit.entity_history(session, entity_type="assessment", entity_id=created["id"])
    assert [entry["action"] for entry in history] == [
        "assessment.pft.record",
        "assessment.pft.correct",
    ]
    assert history[1]["reason"] == "FEV1 transcribed from the wrong manoeuvre"
    assert history[1]["before"]["metrics"]["fev1_l"] == 2.0


def test_dlco_is_corrected_for_haemoglobin_before_gli_2017(treated: Desk) -> None:
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {
            "sex": "male",
            "age_years": 60,
            "height_cm": 170,
            "dlco": 19.4,
            "haemoglobin": 146,
            "haemoglobin_unit": "g/L",
            "performed_at": at_site(DAY_1 - timedelta(days=3)),
        },
    )
    transfer = body["results"]["transfer_factor"]
    # Cotes: (10.22 + 14.6) / (1.7 × 14.6) for an adult man.
    assert transfer["correction_factor"] == pytest.approx((10.22 + 14.6) / (1.7 * 14.6))
    assert transfer["comparison"]["measured"] == pytest.approx(19.4 * transfer["correction_factor"])
    assert transfer["comparison"]["lms_m"] == pytest.approx(25.20953, abs=1e-4)
    without_hb = treated.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {
            "sex": "male",
            "age_years": 60,
            "height_cm": 170,
            "dlco": 19.4,
            "performed_at": at_site(DAY_1 - timedelta(days=2)),
        },
    )
    # OUTCOMES.md §2.3: GLI-2017 DLCO 19.4 mL/min/mmHg → 76.96 %, z −1.5049.
    comparison = without_hb["results"]["transfer_factor"]["comparison"]
    assert comparison["percent_predicted"] == pytest.approx(76.96, abs=5e-3)
    assert comparison["z_score"] == pytest.approx(-1.5049, abs=5e-4)


def test_sgrq_c_all_worst_answers_score_100(treated: Desk) -> None:
    answers: dict[str, Any] = {}
    for item in ITEMS[Instrument.SGRQ_C]:
        if item.is_true_false:
            answers[item.item] = True
        else:
            answers[item.item] = max(item.weights, key=lambda option: item.weights[option])
    body = treated.post(
        f"/v1/subjects/{SUBJECT}/sgrq",
        {
            "instrument": "SGRQ-C",
            "responses": answers,
            "performed_at": at_site(DAY_1 - timedelta(days=2)),
        },
    )
    assert body["metrics"]["sgrq_total"] == pytest.approx(100.0)
    assert body["results"]["instrument"] == "SGRQ-C"


def test_a_subjects_assessments_are_listed_in_pages_with_a_cursor(treated: Desk) -> None:
    for days in (5, 4, 3):
        treated.post(
            f"/v1/subjects/{SUBJECT}/blood-gases",
            {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=days))},
        )
    first = treated.client.get(
        f"/v1/subjects/{SUBJECT}/assessments", params={"limit": 2}, headers=treated.as_()
    ).json()
    assert len(first["items"]) == 2
    second = treated.client.get(
        f"/v1/subjects/{SUBJECT}/assessments",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=treated.as_(),
    ).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    performed = [item["performed_on"] for item in first["items"] + second["items"]]
    assert performed == sorted(performed)
    bad = treated.client.get(
        f"/v1/subjects/{SUBJECT}/assessments", params={"cursor": "!!"}, headers=treated.as_()
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_as_measurements(treated: Desk, number: str) -> None:
    performed_at = at_site(DAY_1 - timedelta(days=1))
    raw = (
        f'{{"ph": 7.4, "pao2": {number}, "paco2": 40, "fio2": 0.21, '
        f'"performed_at": "{performed_at}"}}'
    )
    response = treated.client.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        content=raw,
        headers={**treated.as_(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


def test_an_assessment_dated_before_1990_is_a_typing_error(treated: Desk) -> None:
    response = treated.client.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        json={**ROOM_AIR_GAS, "performed_at": "0001-01-01T00:00:00+05:00"},
        headers=treated.as_(),
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/subjects/HDMSC-RP-01-404",
        "/v1/subjects/HDMSC-RP-01-404/assessments",
        "/v1/subjects/HDMSC-RP-01-404/outcomes",
        "/v1/assessments/00000000-0000-0000-0000-000000000000",
        "/v1/ct-analyses/00000000-0000-0000-0000-000000000000",
    ],
)
def test_reading_what_imaging_does_not_know_is_404(desk: Desk, path: str) -> None:
    response = desk.client.get(path, headers=desk.as_(Role.MONITOR))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


def _items_of(component: Component) -> list[str]:
    return [item.item for item in ITEMS[Instrument.SGRQ] if item.component is component]


@pytest.mark.parametrize(
    ("component", "allowed"),
    [(Component.SYMPTOMS, 2), (Component.ACTIVITY, 4), (Component.IMPACTS, 6)],
)
def test_sgrq_a_component_is_invalid_past_its_missing_item_limit(
    treated: Desk, component: Component, allowed: int
) -> None:
    # Q5 "no attacks" skips Q6; answering Q5 with an attack keeps Q6 an ordinary item here.
    items = [item for item in _items_of(component) if item not in ("5", "6")]
    for missing, valid in ((allowed, True), (allowed + 1, False)):
        answers = _answers(worst=True)
        for item in items[:missing]:
            answers[item] = None
        body = treated.post(
            f"/v1/subjects/{SUBJECT}/sgrq",
            {"responses": answers, "performed_at": at_site(DAY_1 - timedelta(days=2))},
        )
        score = body["metrics"][f"sgrq_{component.value}"]
        assert (score is not None) is valid, (missing, body["results"])
        assert (body["metrics"]["sgrq_total"] is not None) is valid


def test_an_idempotency_key_reused_for_a_different_request_is_422(treated: Desk) -> None:
    headers = treated.as_()
    path = f"/v1/subjects/{SUBJECT}/blood-gases"
    body = {**ROOM_AIR_GAS, "performed_at": at_site(DAY_1 - timedelta(days=1))}
    assert treated.client.post(path, json=body, headers=headers).status_code == 201
    other = treated.client.post(path, json={**body, "pao2": 70}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
