"""Withdrawal and discontinuation of an enrolled subject, through the API: no further dose, the
subject's DLT evaluability judged with the withdrawal counted (replaced within the cap if not
evaluable), the escalation state recomputed, future visits cancelled unless safety follow-up
continues; audited and published as `enrollment.subject.withdrawn`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from doseline.auth import Role

from .conftest import Site
from .test_late_facts import (
    audit_actions,
    cohort,
    enrolled,
    level_1,
    outbox,
    plan,
    run_the_job,
    treat,
)


def withdraw(
    site: Site,
    subject_id: str,
    *,
    reason: str = "consent_withdrawn",
    role: Role = Role.INVESTIGATOR,
    person: str = "dr-li",
    offset_days: int = 0,
    safety_follow_up: bool = False,
    etag: str | None = None,
) -> Any:
    if etag is None:
        read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
        etag = read.headers["ETag"]
    return site.api.post(
        f"/v1/subjects/{subject_id}/withdrawal",
        json={
            "reason": reason,
            "effective_on": site.site_day(offset_days).isoformat(),
            "details": "The subject asked to stop the study treatment at the visit today.",
            "safety_follow_up": safety_follow_up,
        },
        headers=site.as_(role, person, **{"If-Match": etag}),
    )


def visit_states(site: Site, subject_id: str) -> dict[str, str]:
    visits = site.ok(
        site.api.get(f"/v1/trials/{site.trial}/visits", headers=site.as_(Role.COORDINATOR, "nurse"))
    )
    return {v["visit_id"]: v["state"] for v in visits if v["subject_id"] == subject_id}


def test_a_subject_withdrawn_inside_the_dlt_window_without_a_dlt_is_not_evaluable_and_replaced(
    site: Site,
) -> None:
    first, second, third = enrolled(site), enrolled(site), enrolled(site)
    site.treat(first, days=(-12, -9))
    prepared = site.prepare(first, 3, first_offset_days=-12)
    site.ok(prepared, 201)
    assert cohort(site)["status"] == "treating"

    body = site.ok(withdraw(site, first), 201)

    assert body["status"] == "withdrawn"
    assert body["dlt_evaluability"] == "not-evaluable"
    assert "before completing the DLT window" in body["dlt_evaluability_reason"]
    assert body["replacement_slot_opened"] is True
    assert body["cancelled_preparations"] == [3]
    subject = site.ok(site.api.get(f"/v1/subjects/{first}", headers=site.as_(Role.MONITOR, "cra")))
    assert subject["status"] == "withdrawn"
    assert plan(site, first)["dlt_evaluable"] is False
    after = cohort(site)
    assert (after["slots"], after["status"]) == (4, "open")
    assert [s["replaced_subject_id"] for s in after["replacement_slots"]] == [first]
    assert level_1(site)["open_slots"] == 1
    # The replacement takes the slot the withdrawal opened.
    enrolled(site)
    assert (cohort(site)["enrolled"], cohort(site)["status"]) == (4, "treating")
    assert {second, third}.isdisjoint(s["replaced_subject_id"] for s in after["replacement_slots"])
    [event] = outbox(site, "enrollment.subject.withdrawn")
    assert event["subject_id"] == first
    assert event["site_id"] == subject["site_id"]
    assert (event["reason"], event["effective_on"]) == (
        "consent_withdrawn",
        site.site_day(0).isoformat(),
    )
    assert (event["infusions_received"], event["dlt_evaluability"]) == (2, "not-evaluable")
    assert event["replacement_slot_opened"] is True
    [closed] = outbox(site, "enrollment.dlt_window.closed")
    assert (closed["subject_id"], closed["evaluable"]) == (first, False)
    assert audit_actions(site, first)[-2:] == ["subject.withdraw", "dlt_window.close"]
    assert "cohort.add_replacement_slot" in audit_actions(site, f"{site.trial}/1")
    assert audit_actions(site, prepared.json()["id"])[-1] == "dose.cancel"


def test_a_withdrawn_subject_receives_no_further_dose(site: Site) -> None:
    subject_id = enrolled(site)
    site.treat(subject_id, days=(-12,))
    prepared = site.prepare(subject_id, 2, first_offset_days=-12)
    site.ok(prepared, 201)
    site.ok(withdraw(site, subject_id), 201)

    verification = site.verify(prepared)
    assert verification.status_code == 409, verification.text
    assert verification.json()["type"].endswith("/preparation-cancelled")
    assert "withdrawn" in verification.json()["detail"]
    infusion = site.infuse(subject_id, -9, prepared.json()["dose_cells"])
    assert infusion.status_code == 409, infusion.text
    problem = infusion.json()
    assert problem["type"].endswith("/subject-withdrawn")
    assert problem["withdrawal_reason"] == "consent_withdrawn"
    assert (
        f"was withdrawn (consent withdrawn) on {site.site_day(0).isoformat()}" in problem["detail"]
    )
    preparation = site.prepare(subject_id, 3, first_offset_days=-12)
    assert preparation.status_code == 409, preparation.text
    assert preparation.json()["type"].endswith("/subject-withdrawn")


def test_withdrawing_a_subject_twice_is_a_conflict_that_changes_nothing(site: Site) -> None:
    subject_id = enrolled(site)
    read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
    site.ok(withdraw(site, subject_id, etag=read.headers["ETag"]), 201)
    before = site.row_counts()

    # The same request again, as a client retrying with the ETag it read before.
    again = withdraw(site, subject_id, etag=read.headers["ETag"])

    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("/already-withdrawn")
    assert site.row_counts() == before
    assert len(outbox(site, "enrollment.subject.withdrawn")) == 1


def test_a_withdrawal_needs_the_current_etag_of_the_subject(site: Site) -> None:
    subject_id = enrolled(site)

    stale = withdraw(site, subject_id, etag='"v0"')

    assert stale.status_code == 412, stale.text
    assert outbox(site, "enrollment.subject.withdrawn") == []


def test_a_subject_who_is_not_enrolled_cannot_be_withdrawn(site: Site) -> None:
    subject_id = site.eligible_subject()

    response = withdraw(site, subject_id)

    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/not-enrolled")
    assert "removed from the waitlist" in response.json()["detail"]


def test_a_coordinator_records_lost_to_follow_up_but_no_other_withdrawal(site: Site) -> None:
    subject_id = enrolled(site)

    refused = withdraw(site, subject_id, role=Role.COORDINATOR, person="nurse")
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/withdrawal-needs-investigator")
    pharmacist = withdraw(
        site, subject_id, reason="lost_to_follow_up", role=Role.PHARMACIST, person="pharm-zhao"
    )
    assert pharmacist.status_code == 403, pharmacist.text
    assert outbox(site, "enrollment.subject.withdrawn") == []

    lost = withdraw(
        site, subject_id, reason="lost_to_follow_up", role=Role.COORDINATOR, person="nurse"
    )

    assert site.ok(lost, 201)["reason"] == "lost_to_follow_up"


def test_a_withdrawal_after_a_death_cannot_keep_safety_follow_up(site: Site) -> None:
    subject_id = enrolled(site)

    response = withdraw(site, subject_id, reason="death", safety_follow_up=True)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "safety_follow_up"]


def test_a_withdrawal_cannot_take_effect_tomorrow(site: Site) -> None:
    subject_id = enrolled(site)

    response = withdraw(site, subject_id, offset_days=1)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "effective_on"]


def test_a_subject_withdrawn_before_the_first_infusion_is_replaced_and_the_cohort_completes(
    site: Site,
) -> None:
    first, second, third = enrolled(site), enrolled(site), enrolled(site)

    body = site.ok(withdraw(site, first), 201)

    assert (body["dlt_evaluability"], body["replacement_slot_opened"]) == ("not-evaluable", True)
    assert "before the first infusion" in body["dlt_evaluability_reason"]
    fourth = enrolled(site)
    for subject_id in (second, third, fourth):
        treat(site, subject_id)
    run_the_job(site)
    state = site.escalation()
    assert state["outcomes"] == "1NNN"
    assert state["pending_decision"]["outcome"] == "escalate"
    assert (level_1(site)["patients"], level_1(site)["evaluable_patients"]) == (4, 3)


def test_a_withdrawal_after_the_dlt_window_keeps_the_subject_evaluable(site: Site) -> None:
    subjects = [enrolled(site) for _ in range(3)]
    for subject_id in subjects:
        treat(site, subject_id)
    run_the_job(site)
    decided = site.escalation()

    body = site.ok(withdraw(site, subjects[0]), 201)

    assert (body["dlt_evaluability"], body["replacement_slot_opened"]) == ("evaluable", False)
    assert cohort(site)["slots"] == 3
    after = site.escalation()
    assert (after["outcomes"], after["state_hash"]) == (decided["outcomes"], decided["state_hash"])
    assert outbox(site, "enrollment.dlt_window.reassessed") == []


def test_visits_after_a_withdrawal_are_cancelled_unless_safety_follow_up_continues(
    site: Site,
) -> None:
    stopped, followed = enrolled(site), enrolled(site)
    for subject_id in (stopped, followed):
        treat(site, subject_id)
    assert visit_states(site, stopped)["month-2"] == "upcoming"

    site.ok(withdraw(site, stopped), 201)
    site.ok(withdraw(site, followed, safety_follow_up=True), 201)

    # Month 1 (about day -6) is before the withdrawal: still due, it may yet be recorded.
    assert visit_states(site, stopped) == {
        "baseline": "overdue",
        "month-1": "due",
        "month-2": "cancelled",
        "month-3": "cancelled",
        "month-6": "cancelled",
        "month-12": "cancelled",
    }
    assert "cancelled" not in visit_states(site, followed).values()
    refused = site.api.post(
        f"/v1/subjects/{stopped}/visits",
        json={"visit_id": "month-2", "visit_date": site.site_day(0).isoformat()},
        headers=site.as_(Role.COORDINATOR, "nurse"),
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/visit-cancelled")


def test_a_subject_withdrawn_after_two_infusions_keeps_safety_visits_from_the_last_one(
    site: Site,
) -> None:
    subject_id = enrolled(site)
    treat(site, subject_id, range(1, 3))
    assert set(visit_states(site, subject_id)) == {"baseline"}

    site.ok(withdraw(site, subject_id, safety_follow_up=True), 201)

    visits = site.ok(
        site.api.get(f"/v1/trials/{site.trial}/visits", headers=site.as_(Role.COORDINATOR, "nurse"))
    )
    month_1 = next(
        v for v in visits if v["subject_id"] == subject_id and v["visit_id"] == "month-1"
    )
    # The second infusion (day -42) was the last: month 1 is a calendar month after it.
    assert month_1["target_on"] > site.site_day(-42).isoformat()
    assert month_1["state"] != "cancelled"
    assert plan(site, subject_id)["dlt_evaluable"] is False
    assert site.prepare(subject_id, 3, first_offset_days=-45).status_code == 409


def at_once(**requests: Callable[[], Any]) -> dict[str, Any]:
    """Send the requests from as many threads released together; their responses by name."""
    results: dict[str, Any] = {}
    start = threading.Barrier(len(requests))

    def send(name: str, request: Callable[[], Any]) -> None:
        start.wait()
        results[name] = request()

    threads = [threading.Thread(target=send, args=item) for item in requests.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_an_infusion_and_a_withdrawal_sent_at_once_are_served_one_after_the_other(
    http: Site,
) -> None:
    site = http
    for _ in range(3):
        subject_id = enrolled(site)
        site.treat(subject_id, days=(-12,))
        prepared = site.prepare(subject_id, 2, first_offset_days=-12)
        site.ok(prepared, 201)
        site.ok(site.verify(prepared))
        read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
        results = at_once(
            infusion=partial(site.infuse, subject_id, -9, prepared.json()["dose_cells"]),
            withdrawal=partial(withdraw, site, subject_id, etag=read.headers["ETag"]),
        )

        withdrawal = site.ok(results["withdrawal"], 201)
        given = len(plan(site, subject_id)["recorded"])
        if results["infusion"].status_code == 201:
            assert (given, withdrawal["cancelled_preparations"]) == (2, [])
        else:
            assert results["infusion"].status_code == 409, results["infusion"].text
            assert results["infusion"].json()["type"].endswith("/subject-withdrawn")
            assert (given, withdrawal["cancelled_preparations"]) == (1, [2])
        [event] = [
            e for e in outbox(site, "enrollment.subject.withdrawn") if e["subject_id"] == subject_id
        ]
        assert event["infusions_received"] == given
