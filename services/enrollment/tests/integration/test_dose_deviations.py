"""Doses that do not go as planned, through the API: a late or missed infusion is a protocol
deviation with its window, an interrupted infusion records the volume given and the dose
follows, a weight measured again re-doses only when the protocol says so, an investigator holds
or reduces a dose with a reason; evaluability and the escalation state follow what was given.

The calendar is the walkthrough's (test_late_facts): weight on day -47, infusions planned on
days -45, -42, -39 and -36 (each ±1 day), so the 30-day DLT window ended on day -16 and the
window job closes it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from doseline.auth import Role
from enrollment.deviations.tasks import RECORD_MISSED_INFUSIONS
from enrollment.protocol import PROTOCOLS_DIR

from .conftest import TRIAL, Site
from .test_late_facts import (
    INFUSION_DAYS,
    audit_actions,
    cohort,
    day,
    enrolled,
    level_1,
    outbox,
    plan,
    run_the_job,
)
from .test_withdrawal import at_once, withdraw

PROBLEM = "application/problem+json"


def run_the_missed_infusion_job(site: Site) -> None:
    RECORD_MISSED_INFUSIONS.run(site.sessions, datetime.now(UTC))


def prepare(site: Site, subject_id: str, number: int, volume_ml: str | None = None) -> Any:
    """Prepare and verify infusion `number`; returns the verified preparation."""
    body: dict[str, Any] = {
        "infusion_number": number,
        "product_lot": "LOT-7",
        "first_infusion_on": day(site, INFUSION_DAYS[0]),
    }
    if volume_ml is not None:
        body["volume_ml"] = volume_ml
    prepared = site.api.post(
        f"/v1/subjects/{subject_id}/dose-preparations",
        json=body,
        headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
    )
    site.ok(prepared, 201)
    return site.ok(site.verify(prepared))


def give(
    site: Site,
    subject_id: str,
    on_day: int,
    *,
    cells: str | None = None,
    volume_ml: str | None = None,
) -> Any:
    body: dict[str, Any] = {"started_at": f"{day(site, on_day)}T09:00:00+08:00"}
    body["product_lot"] = "LOT-7"
    if cells is not None:
        body["dose_given_cells"] = cells
    if volume_ml is not None:
        body["volume_given_ml"] = volume_ml
    return site.api.post(
        f"/v1/subjects/{subject_id}/infusions",
        json=body,
        headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
    )


def weighed_subject(site: Site, kg: str = "70.0") -> str:
    subject_id = enrolled(site)
    site.ok(site.weigh(subject_id, kg=kg, offset_days=-47), 201)
    return subject_id


def infuse_in_full(site: Site, subject_id: str, number: int, on_day: int | None = None) -> Any:
    prepared = prepare(site, subject_id, number)
    given = on_day if on_day is not None else INFUSION_DAYS[number - 1]
    return site.ok(give(site, subject_id, given, cells=prepared["dose_cells"]), 201)


def deviations(site: Site, subject_id: str, **params: Any) -> list[dict[str, Any]]:
    page = site.ok(
        site.api.get(
            f"/v1/subjects/{subject_id}/deviations",
            params=params,
            headers=site.as_(Role.MONITOR, "cra"),
        )
    )
    result: list[dict[str, Any]] = page["items"]
    return result


def order(site: Site, subject_id: str, body: dict[str, Any], role: Role = Role.INVESTIGATOR) -> Any:
    return site.api.post(
        f"/v1/subjects/{subject_id}/dose-orders", json=body, headers=site.as_(role, "dr-li")
    )


def resolve(site: Site, subject_id: str, outcome: str) -> Any:
    return site.api.post(
        f"/v1/subjects/{subject_id}/dose-hold/resolution",
        json={"outcome": outcome, "reason": "grade 2 rash resolved at review"},
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith(f"/{slug}"), problem
    return problem


# --- late and missed infusions -------------------------------------------------------------


def test_an_infusion_given_outside_its_window_is_a_deviation_with_the_planned_day_and_window(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)

    late = infuse_in_full(site, subject_id, 2, on_day=-40)  # planned day -42, window -43..-41

    assert late["timing"] == "outside-window"
    assert "outside the window" in late["deviation"]
    [deviation] = deviations(site, subject_id)
    assert deviation["kind"] == "infusion-outside-window"
    assert deviation["infusion_number"] == 2
    assert (deviation["planned_on"], deviation["window_opens"], deviation["window_closes"]) == (
        day(site, -42),
        day(site, -43),
        day(site, -41),
    )
    assert deviation["site_date"] == day(site, -40)
    assert deviation["occurred_at"] is not None
    assert deviation["infusion_id"] == late["id"]
    assert "protocol_deviation.record" in audit_actions(site, subject_id)
    [event] = outbox(site, "enrollment.protocol_deviation.recorded")
    assert (event["kind"], event["infusion_number"], event["planned_on"]) == (
        "infusion-outside-window",
        2,
        day(site, -42),
    )
    assert event["occurred_at"] is not None


def test_an_infusion_whose_window_passed_with_none_given_becomes_a_missed_deviation_once(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    infuse_in_full(site, subject_id, 2)

    run_the_missed_infusion_job(site)
    run_the_missed_infusion_job(site)  # idempotent: each missed infusion is recorded once

    missed = deviations(site, subject_id)
    assert [(d["kind"], d["infusion_number"]) for d in missed] == [
        ("missed-infusion", 3),
        ("missed-infusion", 4),
    ]
    assert missed[0]["planned_on"] == day(site, -39)
    assert (missed[0]["window_opens"], missed[0]["window_closes"]) == (
        day(site, -40),
        day(site, -38),
    )
    assert missed[0]["occurred_at"] is None
    assert "none given" in missed[0]["description"]
    assert audit_actions(site, subject_id).count("protocol_deviation.record") == 2
    first_page = site.ok(
        site.api.get(
            f"/v1/subjects/{subject_id}/deviations",
            params={"limit": 1},
            headers=site.as_(Role.MONITOR, "cra"),
        )
    )
    assert [d["infusion_number"] for d in first_page["items"]] == [3]
    rest = deviations(site, subject_id, cursor=first_page["next_cursor"])
    assert [d["infusion_number"] for d in rest] == [4]
    events = outbox(site, "enrollment.protocol_deviation.recorded")
    assert [(e["kind"], e["infusion_number"]) for e in events] == [
        ("missed-infusion", 3),
        ("missed-infusion", 4),
    ]
    # Two of four infusions: not evaluable when the window closes, and replaced.
    run_the_job(site)
    window = plan(site, subject_id)
    assert window["dlt_evaluable"] is False
    assert "received 2 of the 4 required infusions" in window["dlt_evaluability_reason"]
    assert level_1(site)["evaluable_patients"] == 0


# --- interrupted infusions ------------------------------------------------------------------


def test_an_interrupted_first_infusion_records_the_volume_given_and_the_subject_is_not_evaluable(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    prepared = prepare(site, subject_id, 1, volume_ml="50")
    assert (prepared["dose_cells"], prepared["volume_ml"]) == ("23100000", "50")

    given = site.ok(give(site, subject_id, INFUSION_DAYS[0], volume_ml="20"), 201)

    # 20 of 50 mL of 2.31 × 10^7 cells, rounded to 3 significant figures; per kg of 70 kg.
    assert given["dose_given_cells"] == "9240000"
    assert given["dose_given_per_kg"] == "132000"
    assert (given["volume_given_ml"], given["volume_prepared_ml"]) == ("20", "50")
    assert (given["interrupted"], given["full_dose"]) == (True, False)
    assert "interrupted: 20 of 50 mL given" in given["deviation"]
    [event] = outbox(site, "enrollment.infusion.administered")
    assert (event["interrupted"], event["full_dose"], event["dose_cells"]) == (
        True,
        False,
        "9240000",
    )
    assert (event["volume_given_ml"], event["volume_prepared_ml"]) == ("20", "50")
    [deviation] = deviations(site, subject_id)
    assert (deviation["kind"], deviation["infusion_number"]) == ("partial-dose", 1)
    assert "20 of 50 mL" in deviation["description"]
    audit = audit_actions(site, given["id"])
    assert audit == ["infusion.record"]
    for number in (2, 3, 4):
        infuse_in_full(site, subject_id, number)

    run_the_job(site)

    # PROTOCOL.md is silent on a minimum dose; infusion 1 must be given in full (ADR 0016).
    window = plan(site, subject_id)
    assert window["dlt_evaluable"] is False
    assert (
        "infusion 1 was not given in full (9240000 of the 23100000 cells"
        in (window["dlt_evaluability_reason"])
    )
    assert level_1(site)["evaluable_patients"] == 0
    [closed] = outbox(site, "enrollment.dlt_window.closed")
    assert closed["evaluable"] is False
    assert [s["replaced_subject_id"] for s in cohort(site)["replacement_slots"]] == [subject_id]


def test_an_interrupted_later_infusion_still_counts_and_the_subject_is_evaluable(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    prepare(site, subject_id, 2, volume_ml="50")
    given = site.ok(give(site, subject_id, INFUSION_DAYS[1], volume_ml="45.5"), 201)
    assert (given["interrupted"], given["full_dose"]) == (True, False)
    infuse_in_full(site, subject_id, 3)
    infuse_in_full(site, subject_id, 4)

    run_the_job(site)

    window = plan(site, subject_id)
    assert window["dlt_evaluable"] is True, window["dlt_evaluability_reason"]
    assert level_1(site)["evaluable_patients"] == 1


def test_an_interrupted_volume_above_the_prepared_volume_is_refused_and_nothing_written(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    prepare(site, subject_id, 1, volume_ml="50")
    before = site.row_counts()

    response = give(site, subject_id, INFUSION_DAYS[0], volume_ml="50.5")

    problem = assert_problem(response, 422, "invalid-input")
    assert "50.5 mL is more than the 50 mL prepared" in problem["detail"]
    assert site.row_counts() == before


def test_a_volume_for_a_preparation_without_a_volume_or_both_dose_and_volume_are_refused(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    prepared = prepare(site, subject_id, 1)
    before = site.row_counts()

    no_volume = give(site, subject_id, INFUSION_DAYS[0], volume_ml="20")
    both = give(site, subject_id, INFUSION_DAYS[0], cells=prepared["dose_cells"], volume_ml="20")

    assert "records no volume" in assert_problem(no_volume, 422, "invalid-input")["detail"]
    assert "exactly one of" in assert_problem(both, 422, "invalid-input")["detail"]
    assert site.row_counts() == before


# --- holds and reductions ordered by the investigator ---------------------------------------


def test_a_held_dose_is_neither_prepared_nor_given_until_the_hold_is_released(site: Site) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    prepared = prepare(site, subject_id, 2)

    hold = site.ok(order(site, subject_id, {"kind": "hold", "reason": "grade 2 rash"}), 201)

    assert (hold["kind"], hold["status"], hold["from_infusion"]) == ("hold", "active", 2)
    assert "dose_order.hold" in audit_actions(site, subject_id)
    [event] = outbox(site, "enrollment.dose_order.recorded")
    assert (event["kind"], event["reason"], event["from_infusion"]) == ("hold", "grade 2 rash", 2)
    before = site.row_counts()
    refused = give(site, subject_id, INFUSION_DAYS[1], cells=prepared["dose_cells"])
    problem = assert_problem(refused, 409, "dose-held")
    assert "grade 2 rash" in problem["detail"]
    assert problem["dose_order_id"] == hold["id"]
    assert_problem(
        site.api.post(
            f"/v1/subjects/{subject_id}/dose-preparations",
            json={"infusion_number": 3, "product_lot": "LOT-7"},
            headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
        ),
        409,
        "dose-held",
    )
    assert_problem(order(site, subject_id, {"kind": "hold", "reason": "again"}), 409, "dose-held")
    assert site.row_counts() == before

    released = site.ok(resolve(site, subject_id, "released"))

    assert (released["status"], released["resolved_by"]) == ("released", "dr-li <dr-li>")
    [resolved] = outbox(site, "enrollment.dose_order.resolved")
    assert resolved["outcome"] == "released"
    assert "dose_order.resolve" in audit_actions(site, subject_id)
    site.ok(give(site, subject_id, INFUSION_DAYS[1], cells=prepared["dose_cells"]), 201)
    assert_problem(resolve(site, subject_id, "released"), 409, "no-active-hold")


def test_a_retried_dose_order_with_its_idempotency_key_returns_the_first_answer(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    headers = site.as_(Role.INVESTIGATOR, "dr-li")
    body = {"kind": "reduction", "percent_of_dose": 80, "reason": "grade 2 fatigue"}

    first = site.api.post(f"/v1/subjects/{subject_id}/dose-orders", json=body, headers=headers)
    retry = site.api.post(f"/v1/subjects/{subject_id}/dose-orders", json=body, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert len(outbox(site, "enrollment.dose_order.recorded")) == 1
    assert audit_actions(site, subject_id).count("dose_order.reduction") == 1


def test_an_infusion_and_a_hold_sent_at_once_are_served_one_after_the_other(http: Site) -> None:
    site = http
    for _ in range(2):
        subject_id = weighed_subject(site)
        infuse_in_full(site, subject_id, 1)
        prepared = prepare(site, subject_id, 2)

        results = at_once(
            infusion=lambda s=subject_id, p=prepared: give(
                site, s, INFUSION_DAYS[1], cells=p["dose_cells"]
            ),
            hold=lambda s=subject_id: order(site, s, {"kind": "hold", "reason": "grade 2 rash"}),
        )

        hold = site.ok(results["hold"], 201)
        if results["infusion"].status_code == 201:
            assert hold["from_infusion"] == 3
        else:
            assert_problem(results["infusion"], 409, "dose-held")
            assert hold["from_infusion"] == 2


def test_only_an_investigator_holds_or_reduces_a_dose(site: Site) -> None:
    subject_id = weighed_subject(site)
    before = site.row_counts()

    response = order(site, subject_id, {"kind": "hold", "reason": "rash"}, role=Role.COORDINATOR)

    assert response.status_code == 403, response.text
    assert site.row_counts() == before


def test_a_hold_made_permanent_stops_dosing_and_the_subject_is_not_evaluable(site: Site) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    infuse_in_full(site, subject_id, 2)
    prepared = prepare(site, subject_id, 3)
    site.ok(order(site, subject_id, {"kind": "hold", "reason": "grade 3 infusion reaction"}), 201)

    stopped = site.ok(resolve(site, subject_id, "permanent"))

    assert stopped["status"] == "permanent"
    assert "dose.cancel" in audit_actions(site, prepared["id"])
    refused = give(site, subject_id, INFUSION_DAYS[2], cells=prepared["dose_cells"])
    assert_problem(refused, 409, "dosing-stopped")
    run_the_job(site)
    window = plan(site, subject_id)
    assert window["dlt_evaluable"] is False
    assert "received 2 of the 4 required infusions" in window["dlt_evaluability_reason"]
    assert level_1(site)["evaluable_patients"] == 0


def test_a_reduction_changes_the_next_preparation_and_a_later_one_may_only_lower_it(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    stale = prepare(site, subject_id, 2)
    assert stale["dose_cells"] == "23100000"

    reduction = site.ok(
        order(
            site,
            subject_id,
            {"kind": "reduction", "percent_of_dose": 50, "reason": "grade 2 ALT increased"},
        ),
        201,
    )

    assert (reduction["percent_of_dose"], reduction["from_infusion"]) == (50, 2)
    # The dose prepared at the whole dose was cancelled: infusion 2 is prepared again.
    assert "dose.cancel" in audit_actions(site, stale["id"])
    assert_problem(
        give(site, subject_id, INFUSION_DAYS[1], cells=stale["dose_cells"]),
        409,
        "dose-not-verified",
    )
    reduced = prepare(site, subject_id, 2)
    assert (reduced["dose_cells"], reduced["full_dose_cells"]) == ("11600000", "23100000")
    assert (reduced["percent_of_dose"], reduced["dose_order_id"]) == (50, reduction["id"])
    assert reduced["per_kg_dose"] == "165000"
    given = site.ok(give(site, subject_id, INFUSION_DAYS[1], cells=reduced["dose_cells"]), 201)
    assert (given["full_dose"], given["interrupted"], given["deviation"]) == (False, False, None)
    events = outbox(site, "enrollment.infusion.administered")
    assert (events[-1]["percent_of_dose"], events[-1]["full_dose"]) == (50, False)
    [recorded] = outbox(site, "enrollment.dose_order.recorded")
    assert (recorded["kind"], recorded["percent_of_dose"]) == ("reduction", 50)
    assert "dose_order.reduction" in audit_actions(site, subject_id)
    before = site.row_counts()
    higher = order(
        site, subject_id, {"kind": "reduction", "percent_of_dose": 75, "reason": "better"}
    )
    assert "already reduced to 50%" in assert_problem(higher, 409, "reduction-not-lower")["detail"]
    assert site.row_counts() == before
    lower = site.ok(
        order(site, subject_id, {"kind": "reduction", "percent_of_dose": 25, "reason": "worse"}),
        201,
    )
    orders = site.ok(
        site.api.get(f"/v1/subjects/{subject_id}/dose-orders", headers=site.as_(Role.MONITOR, "m"))
    )["items"]
    assert [(o["id"], o["status"]) for o in orders] == [
        (reduction["id"], "superseded"),
        (lower["id"], "active"),
    ]
    # Reduced later infusions count (only infusion 1 must be given in full): evaluable.
    for number in (3, 4):
        infuse_in_full(site, subject_id, number)
    run_the_job(site)
    assert plan(site, subject_id)["dlt_evaluable"] is True
    assert level_1(site)["evaluable_patients"] == 1


def test_a_dose_order_that_is_neither_a_plain_hold_nor_a_reduction_of_1_to_99_percent_is_a_422(
    site: Site,
) -> None:
    subject_id = weighed_subject(site)
    before = site.row_counts()

    for body in (
        {"kind": "reduction", "percent_of_dose": 100, "reason": "none"},
        {"kind": "reduction", "reason": "missing percent"},
        {"kind": "pause", "reason": "unknown kind"},
        {"kind": "hold", "percent_of_dose": 50, "reason": "a hold with a percent"},
    ):
        assert_problem(order(site, subject_id, body), 422, "invalid-input")
    assert site.row_counts() == before


# --- re-weighing ----------------------------------------------------------------------------


def amend_to_redose(site: Site, percent: str) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    amended = document.replace('version: "1.0"', 'version: "1.1"').replace(
        "redose_on_new_weight: null", f"redose_on_new_weight: {{min_change_percent: {percent}}}"
    )
    assert amended != document
    read = site.api.get(f"/v1/trials/{TRIAL}", headers=site.as_(Role.MONITOR, "m"))
    site.ok(
        site.api.put(
            f"/v1/trials/{TRIAL}/protocol",
            json={
                "protocol_yaml": amended,
                "reason": "re-dose on a new weight",
                "effective_from": site.site_day(-60).isoformat(),
            },
            headers=site.as_(Role.ADMIN, "admin", **{"If-Match": read.headers["ETag"]}),
        )
    )


def test_a_weight_measured_again_does_not_change_the_dose_by_default(site: Site) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    site.ok(site.weigh(subject_id, kg="80.0", offset_days=-43), 201)

    second = prepare(site, subject_id, 2)

    assert (second["weight_kg"], second["dose_cells"]) == ("70", "23100000")
    assert second["series_weight_kg"] is None
    assert "the protocol does not re-dose" in second["dose_basis"]


def test_a_weight_measured_again_re_doses_a_later_infusion_when_the_protocol_says_so(
    site: Site,
) -> None:
    amend_to_redose(site, "10")
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    site.ok(site.weigh(subject_id, kg="80.0", offset_days=-43), 201)

    second = prepare(site, subject_id, 2)

    # 3.3 × 10^5 cells/kg × 80 kg; the series weight of 70 kg and the rule are kept.
    assert (second["weight_kg"], second["dose_cells"]) == ("80", "26400000")
    assert (second["series_weight_kg"], second["series_weight_measured_on"]) == (
        "70",
        day(site, -47),
    )
    assert "by 14.3%, at least the protocol's 10%" in second["dose_basis"]
    with site.engine.connect() as connection:
        record = connection.execute(
            text(
                "SELECT record::jsonb -> 'after' AS after FROM enrollment.audit_log"
                " WHERE record::jsonb ->> 'entity_id' = :e"
                " AND record::jsonb ->> 'action' = 'dose.prepare'"
            ),
            {"e": second["id"]},
        ).scalar_one()
    assert Decimal(record["series_weight_kg"]) == Decimal(70)
    assert Decimal(record["weight_kg"]) == Decimal(80)
    assert "at least the protocol's 10%" in record["dose_basis"]


def test_a_weight_measured_again_cancels_a_dose_prepared_before_it_that_it_re_doses(
    site: Site,
) -> None:
    amend_to_redose(site, "10")
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    stale = prepare(site, subject_id, 2)
    assert stale["dose_cells"] == "23100000"

    site.ok(site.weigh(subject_id, kg="80.0", offset_days=-43), 201)

    assert "dose.cancel" in audit_actions(site, stale["id"])
    assert_problem(
        give(site, subject_id, INFUSION_DAYS[1], cells=stale["dose_cells"]),
        409,
        "dose-not-verified",
    )
    again = prepare(site, subject_id, 2)
    assert (again["weight_kg"], again["dose_cells"]) == ("80", "26400000")
    site.ok(give(site, subject_id, INFUSION_DAYS[1], cells=again["dose_cells"]), 201)


def test_a_small_change_of_weight_under_the_threshold_keeps_the_series_weight(
    site: Site,
) -> None:
    amend_to_redose(site, "10")
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    site.ok(site.weigh(subject_id, kg="72.0", offset_days=-43), 201)

    second = prepare(site, subject_id, 2)

    assert (second["weight_kg"], second["dose_cells"]) == ("70", "23100000")
    assert "by 2.9%, under the protocol's 10%" in second["dose_basis"]


# --- withdrawn subjects ---------------------------------------------------------------------


def test_infusing_or_holding_the_dose_of_a_withdrawn_subject_is_refused(site: Site) -> None:
    subject_id = weighed_subject(site)
    infuse_in_full(site, subject_id, 1)
    site.ok(withdraw(site, subject_id), 201)
    before = site.row_counts()

    infusion = give(site, subject_id, INFUSION_DAYS[1], cells="23100000")
    hold = order(site, subject_id, {"kind": "hold", "reason": "after withdrawal"})

    assert_problem(infusion, 409, "subject-withdrawn")
    assert_problem(hold, 409, "subject-withdrawn")
    assert site.row_counts() == before
