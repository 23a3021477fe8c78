"""Treatment as the protocol runs it: study ids and MRN hashes, infusion timing flags, the DLT
window from the first infusion, replacement of non-evaluable subjects, waitlist, reservations,
follow-up visits, protocol amendments and the bootstrap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from doseline.auth import Role
from enrollment.cohorts.tasks import EXPIRE_RESERVATIONS
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.manifest import SERVICE
from enrollment.protocol import PROTOCOLS_DIR

from .conftest import SITE_ZONE, TRIAL, Site


def close_windows(site: Site, days_ahead: int = 20) -> None:
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=days_ahead))


def outbox_events(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT envelope FROM enrollment.outbox WHERE event_type = :t ORDER BY id"),
            {"t": event_type},
        ).all()
    return [row.envelope["data"] for row in rows]


def test_study_ids_are_issued_in_order_and_the_mrn_is_never_returned(site: Site) -> None:
    first = site.api.post(
        f"/v1/trials/{TRIAL}/subjects",
        json={"hospital_identifier": {"system": "MRN", "value": "wch-0042"}},
        headers=site.as_(Role.COORDINATOR, "nurse"),
    )
    assert first.status_code == 201
    assert first.json()["id"] == "HDMSC-RP-01-001"
    assert "wch-0042" not in first.text.lower()
    again = site.api.post(
        f"/v1/trials/{TRIAL}/subjects",
        json={"hospital_identifier": {"system": "MRN", "value": " WCH-0042 "}},
        headers=site.as_(Role.COORDINATOR, "nurse"),
    )
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/duplicate-subject"
    assert again.json()["subject_id"] == "HDMSC-RP-01-001"
    # The same MRN as other systems send it: another case of the system, a Unicode hyphen,
    # full-width digits, an invisible zero-width space.
    for system, value in [
        ("mrn", "WCH\u20100042"),
        ("Mrn", "ＷＣＨ-００４２"),
        ("MRN", "WCH-0042\u200b"),
    ]:
        disguised = site.api.post(
            f"/v1/trials/{TRIAL}/subjects",
            json={"hospital_identifier": {"system": system, "value": value}},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        )
        assert disguised.status_code == 409, (system, value, disguised.text)
    assert site.register() == "HDMSC-RP-01-002"
    with site.engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM enrollment.subjects")).all()
        audit = connection.execute(text("SELECT record FROM enrollment.audit_log")).all()
    assert "wch-0042" not in repr(stored).lower()
    assert all("wch-0042" not in row.record.lower() for row in audit)


def test_a_late_infusion_is_recorded_and_flagged_and_the_event_carries_the_window(
    site: Site,
) -> None:
    subject_id = site.enrolled_subject()
    site.treat(subject_id, days=(-14, -11, -6, -3))
    plan = site.ok(
        site.api.get(f"/v1/subjects/{subject_id}/infusions", headers=site.as_(Role.MONITOR, "m"))
    )
    timings = [record["timing"] for record in plan["recorded"]]
    assert timings == ["on-time", "on-time", "outside-window", "outside-window"]
    assert "outside the window" in plan["recorded"][2]["deviation"]
    assert plan["dlt_window_start"] == site.site_day(-14).isoformat()
    assert plan["dlt_window_end"] == (site.site_day(-14) + timedelta(days=29)).isoformat()
    events = outbox_events(site, "enrollment.infusion.administered")
    assert [e["infusion_number"] for e in events] == [1, 2, 3, 4]
    assert events[-1]["is_last"] is True
    assert {e["first_infusion_on"] for e in events} == {site.site_day(-14).isoformat()}
    assert {e["dlt_window_end"] for e in events} == {plan["dlt_window_end"]}


def test_the_dose_is_the_per_kg_dose_times_the_weight_to_three_significant_figures(
    site: Site,
) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id, kg="62.5"), 201)
    prepared = site.ok(site.prepare(subject_id, 1), 201)
    # 3.3e5 cells/kg × 62.5 kg = 2.0625e7 → 2.06e7 cells (PROTOCOL.md: 3 significant figures)
    assert Decimal(prepared["dose_cells"]) == Decimal("2.06e7")
    assert Decimal(prepared["unrounded_cells"]) == Decimal("20625000")


def test_a_subject_who_misses_an_infusion_is_not_evaluable_and_is_replaced(site: Site) -> None:
    subjects = [site.enrolled_subject() for _ in range(3)]
    site.treat(subjects[0], days=(-12, -9, -6))
    for subject_id in subjects[1:]:
        site.treat(subject_id)
    close_windows(site)
    state = site.escalation()
    assert state["outcomes"] == ""
    assert state["pending_decision"] is None
    level_1 = state["dose_levels"][0]
    assert (level_1["patients"], level_1["evaluable_patients"], level_1["open_slots"]) == (3, 2, 1)
    closed = outbox_events(site, "enrollment.dlt_window.closed")
    assert [e["evaluable"] for e in closed] == [False, True, True]
    assert "received 3 of the 4 required infusions" in closed[0]["reason"]
    replacement = site.enrolled_subject()
    site.treat(replacement)
    close_windows(site, days_ahead=21)
    state = site.escalation()
    assert state["outcomes"] == "1NNN"
    assert state["pending_decision"]["outcome"] == "escalate"


def test_window_closure_is_idempotent(site: Site) -> None:
    for _ in range(3):
        site.treat(site.enrolled_subject())
    close_windows(site)
    before = site.row_counts()
    close_windows(site)
    assert site.row_counts() == before


def test_a_window_still_open_at_the_site_is_not_closed(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.treat(subject_id)
    close_windows(site, days_ahead=0)
    assert outbox_events(site, "enrollment.dlt_window.closed") == []


def test_the_waitlist_gives_a_free_slot_to_the_first_in_line(site: Site) -> None:
    for _ in range(3):
        site.enrolled_subject()
    first, second = site.eligible_subject(), site.eligible_subject()
    for subject_id in (first, second):
        site.ok(
            site.api.post(
                f"/v1/trials/{TRIAL}/waitlist",
                json={"subject_id": subject_id},
                headers=site.as_(Role.COORDINATOR, "nurse"),
            ),
            201,
        )
    waiting = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/waitlist", headers=site.as_(Role.MONITOR, "m"))
    )
    assert [(w["subject_id"], w["position"]) for w in waiting] == [(first, 1), (second, 2)]
    full = site.enrol(first)
    assert full.status_code == 409
    assert full.json()["type"] == "/problems/cohort-full"


def test_a_reserved_slot_is_held_for_its_subject_and_lapses_unused(site: Site) -> None:
    site.enrolled_subject()
    site.enrolled_subject()
    holder, other = site.eligible_subject(), site.eligible_subject()
    reservation = site.ok(
        site.api.post(
            f"/v1/trials/{TRIAL}/reservations",
            json={"subject_id": holder},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )
    refused = site.enrol(other)
    assert refused.status_code == 409
    assert "reserved" in refused.json()["detail"]
    EXPIRE_RESERVATIONS.run(site.sessions, datetime.now(UTC) + timedelta(hours=73))
    listed = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/reservations", headers=site.as_(Role.MONITOR, "m"))
    )
    assert [(r["id"], r["status"]) for r in listed] == [(reservation["id"], "expired")]
    site.ok(site.enrol(other), 201)


def test_follow_up_visits_fall_due_after_the_last_infusion(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.treat(subject_id, days=(-60, -57, -54, -51))
    site.ok(
        site.api.post(
            f"/v1/subjects/{subject_id}/visits",
            json={"visit_id": "baseline", "visit_date": site.site_day(-61).isoformat()},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )
    due = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/visits",
            params={"state": "overdue"},
            headers=site.as_(Role.MONITOR, "m"),
        )
    )
    assert [v["visit_id"] for v in due] == ["month-1"]
    recorded = site.ok(
        site.api.post(
            f"/v1/subjects/{subject_id}/visits",
            json={"visit_id": "month-1", "visit_date": site.site_day(-1).isoformat()},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )
    assert recorded["in_window"] is False
    overdue = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/visits",
            params={"state": "overdue"},
            headers=site.as_(Role.MONITOR, "m"),
        )
    )
    assert overdue == []


def test_a_protocol_amendment_is_a_new_version_that_later_states_record(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    amended = document.replace('version: "1.0"', 'version: "1.1"').replace(
        "slot_reservation_expiry_hours: 72", "slot_reservation_expiry_hours: 48"
    )
    read = site.api.get(f"/v1/trials/{TRIAL}", headers=site.as_(Role.MONITOR, "m"))
    before = read.json()["protocol"]
    response = site.api.put(
        f"/v1/trials/{TRIAL}/protocol",
        json={"protocol_yaml": amended, "reason": "shorter slot reservations (amendment 1)"},
        headers=site.as_(Role.ADMIN, "admin", **{"If-Match": read.headers["ETag"]}),
    )
    assert response.status_code == 200, response.text
    after = response.json()["protocol"]
    assert (before["version"], after["version"]) == ("1.0", "1.1")
    assert after["content_hash"] != before["content_hash"]
    history = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/escalation/history", headers=site.as_(Role.MONITOR, "m"))
    )["items"]
    assert [h["protocol_version"] for h in history] == ["1.0", "1.1"]
    # Each activation is published with the rules, version, hash and an increasing sequence.
    activations = outbox_events(site, "enrollment.protocol.activated")
    assert [(a["protocol_version"], a["activation"]) for a in activations] == [
        ("1.0", "initial"),
        ("1.1", "amendment"),
    ]
    assert activations[0]["sequence"] < activations[1]["sequence"]
    assert activations[1]["content_hash"] == after["content_hash"]
    assert activations[0]["effective_from"] is None
    assert activations[1]["effective_from"] == site.site_day().isoformat()
    assert activations[1]["reason"] == "shorter slot reservations (amendment 1)"
    assert activations[1]["rules"]["dlt_window"] == {"starts_on": "first-infusion", "days": 30}
    assert activations[1]["rules"]["sites"] == [
        {
            "id": "WCH",
            "name": "West China Hospital",
            "time_zone": "Asia/Shanghai",
            "identifier_systems": [
                {
                    "system": "urn:oid:1.2.156.112604.1.2.1",
                    "aliases": ["MRN", "mrn", "1.2.156.112604.1.2.1"],
                }
            ],
            "walk_course_length_m": 30.0,
        },
        {
            "id": "PUMCH",
            "name": "Peking Union Medical College Hospital",
            "time_zone": "Asia/Shanghai",
            "identifier_systems": [],
            "walk_course_length_m": 30.0,
        },
    ]


def test_an_amendment_cannot_take_effect_in_the_future(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    amended = document.replace('version: "1.0"', 'version: "1.1"')
    amended = amended.replace(
        "slot_reservation_expiry_hours: 72", "slot_reservation_expiry_hours: 48"
    )
    read = site.api.get(f"/v1/trials/{TRIAL}", headers=site.as_(Role.MONITOR, "m"))
    response = site.api.put(
        f"/v1/trials/{TRIAL}/protocol",
        json={
            "protocol_yaml": amended,
            "reason": "amendment 1",
            "effective_from": site.site_day(1).isoformat(),
        },
        headers=site.as_(Role.ADMIN, "admin", **{"If-Match": read.headers["ETag"]}),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "effective_from"]
    assert len(outbox_events(site, "enrollment.protocol.activated")) == 1


def test_bootstrap_creates_hdmsc_rp_01_once(site: Site) -> None:
    with site.sessions() as session, session.begin():
        assert SERVICE.bootstrap is not None
        lines = SERVICE.bootstrap(site.settings, session)
    assert lines == ["trial HDMSC-RP-01 already exists"]


def test_bootstrap_publishes_the_protocol_of_a_trial_that_predates_protocol_events(
    site: Site,
) -> None:
    with site.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM enrollment.outbox WHERE event_type = 'enrollment.protocol.activated'")
        )
    assert SERVICE.bootstrap is not None
    with site.sessions() as session, session.begin():
        lines = SERVICE.bootstrap(site.settings, session)
    assert lines == ["trial HDMSC-RP-01 already exists", "protocol 1.0 of HDMSC-RP-01 published"]
    [published] = outbox_events(site, "enrollment.protocol.activated")
    assert (published["protocol_version"], published["effective_from"]) == ("1.0", None)
    with site.sessions() as session, session.begin():
        again = SERVICE.bootstrap(site.settings, session)
    assert again == ["trial HDMSC-RP-01 already exists"]


def test_a_non_evaluable_subject_is_not_replaced_once_the_cap_is_reached(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    capped = document.replace('version: "1.0"', 'version: "1.0-cap3"').replace("cap: 15", "cap: 3")
    read = site.api.get(f"/v1/trials/{TRIAL}", headers=site.as_(Role.MONITOR, "m"))
    site.ok(
        site.api.put(
            f"/v1/trials/{TRIAL}/protocol",
            json={"protocol_yaml": capped, "reason": "cap lowered for this test"},
            headers=site.as_(Role.ADMIN, "admin", **{"If-Match": read.headers["ETag"]}),
        )
    )
    subjects = [site.enrolled_subject() for _ in range(3)]
    site.treat(subjects[0], days=(-12, -9, -6))
    for subject_id in subjects[1:]:
        site.treat(subject_id)
    close_windows(site)
    closed = outbox_events(site, "enrollment.dlt_window.closed")
    assert [e["evaluable"] for e in closed] == [False, True, True]
    assert site.escalation()["dose_levels"][0]["open_slots"] == 0
    late = site.eligible_subject()
    refused = site.enrol(late)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/enrolment-cap-reached"


def test_an_infusion_record_is_corrected_with_a_reason_and_the_current_etag(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id), 201)
    prepared = site.prepare(subject_id, 1)
    site.ok(site.verify(prepared))
    infused = site.infuse(subject_id, -12, prepared.json()["dose_cells"])
    record = site.ok(infused, 201)
    path = f"/v1/infusions/{record['id']}"
    change = {"product_lot": "LOT-8", "reason": "lot number mistyped at the bedside"}
    corrected = site.api.patch(
        path,
        json=change,
        headers=site.as_(Role.PHARMACIST, "pharm-zhao", **{"If-Match": infused.headers["ETag"]}),
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["product_lot"] == "LOT-8"
    assert corrected.headers["ETag"] != infused.headers["ETag"]
    stale = site.api.patch(
        path,
        json=change,
        headers=site.as_(Role.PHARMACIST, "pharm-zhao", **{"If-Match": infused.headers["ETag"]}),
    )
    assert stale.status_code == 412
    no_reason = site.api.patch(
        path,
        json={"product_lot": "LOT-9"},
        headers=site.as_(Role.PHARMACIST, "pharm-zhao", **{"If-Match": corrected.headers["ETag"]}),
    )
    assert no_reason.status_code == 422
    with site.engine.connect() as connection:
        audit = connection.execute(
            text(
                "SELECT before, after, reason FROM enrollment.audit_log"
                " WHERE action = 'infusion.correct'"
            )
        ).one()
    assert audit.before["product_lot"] == "LOT-7"
    assert audit.after["product_lot"] == "LOT-8"
    assert audit.reason == "lot number mistyped at the bedside"


def test_a_weight_taken_after_the_first_infusion_does_not_change_the_series_dose(
    site: Site,
) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id, kg="62.5"), 201)
    first = site.prepare(subject_id, 1)
    site.ok(site.verify(first))
    site.ok(site.infuse(subject_id, -12, first.json()["dose_cells"]), 201)
    site.ok(site.weigh(subject_id, kg="80", offset_days=-10), 201)
    second = site.ok(site.prepare(subject_id, 2), 201)
    assert second["dose_cells"] == first.json()["dose_cells"]
    assert Decimal(second["weight_kg"]) == Decimal("62.5")


def test_day_1_is_the_calendar_day_at_the_site_not_in_utc(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.ok(site.weigh(subject_id), 201)
    prepared = site.prepare(subject_id, 1)
    site.ok(site.verify(prepared))
    first_day = site.site_day(-12)
    # 00:30 in Chengdu is 16:30 UTC on the day before.
    started = datetime(first_day.year, first_day.month, first_day.day, 0, 30, tzinfo=SITE_ZONE)
    response = site.api.post(
        f"/v1/subjects/{subject_id}/infusions",
        json={
            "started_at": started.astimezone(UTC).isoformat(),
            "dose_given_cells": prepared.json()["dose_cells"],
            "product_lot": "LOT-7",
        },
        headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
    )
    record = site.ok(response, 201)
    assert started.astimezone(UTC).date() == first_day - timedelta(days=1)
    assert record["site_date"] == first_day.isoformat()
    read = site.api.get(f"/v1/infusions/{record['id']}", headers=site.as_(Role.MONITOR, "m"))
    assert read.headers["ETag"] == response.headers["ETag"]
    plan = site.ok(
        site.api.get(f"/v1/subjects/{subject_id}/infusions", headers=site.as_(Role.MONITOR, "m"))
    )
    assert plan["dlt_window_start"] == first_day.isoformat()
    assert [p["planned_on"] for p in plan["infusions"]] == [
        (first_day + timedelta(days=d - 1)).isoformat() for d in (1, 4, 7, 10)
    ]
    assert [p["state"] for p in plan["infusions"]] == ["given", "missed", "missed", "missed"]


def test_a_trial_created_from_its_own_document_runs_its_own_variant(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-01.yaml").read_text(encoding="utf-8")
    escalation_only = document.replace("id: HDMSC-RP-01", "id: HDMSC-ESC-01").replace(
        "variant: expand-top", "variant: esc"
    )
    created = site.api.post(
        "/v1/trials",
        json={"protocol_yaml": escalation_only},
        headers=site.as_(Role.ADMIN, "admin"),
    )
    trial = site.ok(created, 201)
    assert (trial["id"], trial["design_variant"]) == ("HDMSC-ESC-01", "esc")
    esc = replace(site, trial="HDMSC-ESC-01")
    for cohort in (1, 2):
        for _ in range(3):
            esc.treat(esc.enrolled_subject())
        close_windows(esc)
        state = esc.escalation()
        for role, person in ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen")):
            esc.ok(
                esc.api.post(
                    f"/v1/trials/{esc.trial}/escalation/decisions/"
                    f"{state['pending_decision']['id']}/signatures",
                    json={
                        "role": role.value,
                        "meaning": "approve",
                        "state_hash": state["state_hash"],
                    },
                    headers=esc.as_(role, person),
                ),
                201,
            )
        if cohort == 1:
            esc.ok(
                esc.api.post(
                    f"/v1/trials/{esc.trial}/cohorts", headers=esc.as_(Role.INVESTIGATOR, "i")
                ),
                201,
            )
    final = esc.escalation()
    # ESC (CASES.md §C): the top level passed on one cohort is declared at once.
    assert (final["outcomes"], final["trial_status"], final["mtd"]) == ("1NNN 2NNN", "completed", 2)
    assert site.escalation()["outcomes"] == ""
