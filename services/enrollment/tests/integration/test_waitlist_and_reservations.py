"""Leaving the queue for a slot: a subject taken off the waitlist with a reason, and a screen
failure that gives up the subject's reserved slot and waitlist place at once."""

from __future__ import annotations

from typing import Any

from doseline.auth import Role

from .conftest import Site, eligible_answers
from .test_late_facts import audit_actions, cohort, outbox


def join_waitlist(site: Site, subject_id: str) -> Any:
    return site.ok(
        site.api.post(
            f"/v1/trials/{site.trial}/waitlist",
            json={"subject_id": subject_id},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )


def remove(site: Site, subject_id: str, role: Role = Role.COORDINATOR) -> Any:
    return site.api.post(
        f"/v1/trials/{site.trial}/waitlist/{subject_id}/removal",
        json={"reason": "The subject chose another study while waiting."},
        headers=site.as_(role, "nurse"),
    )


def waiting(site: Site) -> list[str]:
    entries = site.ok(
        site.api.get(f"/v1/trials/{site.trial}/waitlist", headers=site.as_(Role.MONITOR, "cra"))
    )
    return [e["subject_id"] for e in entries]


def rescreen_not_eligible(site: Site, subject_id: str) -> None:
    answers = eligible_answers(site.site_day(-25), site.site_day(-20))
    answers["INC-05"] = {"value": 16}
    site.screen(subject_id, answers)


def test_a_subject_taken_off_the_waitlist_lets_the_next_one_move_up(site: Site) -> None:
    for _ in range(3):
        site.enrolled_subject()
    first, second = site.eligible_subject(), site.eligible_subject()
    join_waitlist(site, first)
    join_waitlist(site, second)

    removed = site.ok(remove(site, first))

    assert (removed["subject_id"], removed["status"]) == (first, "removed")
    assert waiting(site) == [second]
    [event] = outbox(site, "enrollment.waitlist.removed")
    assert (event["subject_id"], event["position"]) == (first, 1)
    assert event["reason"] == "The subject chose another study while waiting."
    assert audit_actions(site, first)[-1] == "waitlist.remove"
    again = remove(site, first)
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("/not-waiting")
    # Joining again queues at the end.
    join_waitlist(site, first)
    assert waiting(site) == [second, first]


def test_only_site_staff_take_a_subject_off_the_waitlist(site: Site) -> None:
    for _ in range(3):
        site.enrolled_subject()
    subject_id = site.eligible_subject()
    join_waitlist(site, subject_id)

    response = remove(site, subject_id, role=Role.MONITOR)

    assert response.status_code == 403, response.text
    assert waiting(site) == [subject_id]
    assert outbox(site, "enrollment.waitlist.removed") == []


def test_a_subject_not_on_the_waitlist_cannot_be_removed_from_it(site: Site) -> None:
    subject_id = site.eligible_subject()

    response = remove(site, subject_id)

    assert response.status_code == 404, response.text


def test_a_screen_failure_after_a_reservation_frees_the_slot_at_once(site: Site) -> None:
    site.enrolled_subject()
    site.enrolled_subject()
    reserved = site.eligible_subject()
    reservation = site.ok(
        site.api.post(
            f"/v1/trials/{site.trial}/reservations",
            json={"subject_id": reserved},
            headers=site.as_(Role.COORDINATOR, "nurse"),
        ),
        201,
    )
    assert cohort(site)["reserved"] == 1
    other = site.eligible_subject()
    assert site.enrol(other).status_code == 409

    rescreen_not_eligible(site, reserved)

    reservations = site.ok(
        site.api.get(f"/v1/trials/{site.trial}/reservations", headers=site.as_(Role.MONITOR, "cra"))
    )
    assert [(r["id"], r["status"]) for r in reservations] == [(reservation["id"], "released")]
    assert cohort(site)["reserved"] == 0
    assert audit_actions(site, reservation["id"])[-1] == "slot.reservation_release"
    site.ok(site.enrol(other), 201)


def test_a_screen_failure_while_waiting_takes_the_subject_off_the_waitlist(site: Site) -> None:
    for _ in range(3):
        site.enrolled_subject()
    subject_id = site.eligible_subject()
    join_waitlist(site, subject_id)

    rescreen_not_eligible(site, subject_id)

    assert waiting(site) == []
    [event] = outbox(site, "enrollment.waitlist.removed")
    assert event["subject_id"] == subject_id
    assert event["reason"].startswith("screen failure on")
