"""Late facts are never lost: a fact that arrives after the DLT-window job closed a window
re-opens the judgement (evaluability, replacement slot, escalation state, events, audit).

The first test is the race of docs/walkthrough.md over real sockets: subject 002's infusions
are back-dated, so the once-a-minute job can close its window between the third and the fourth
infusion; the fourth must make the subject evaluable again and withdraw the replacement slot,
so "cohort full" holds for a fourth subject.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from doseline.auth import Role
from doseline.contracts.safety import DltSuspected
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS, close_dlt_windows

from .conftest import SITE_ZONE, TRIAL, Site, eligible_answers
from .test_dlt_adjudications import adjudication, deliver

# The walkthrough's calendar: consent on day -55, screening on day -54, weight on day -47,
# infusions on days -45, -42, -39 and -36 at 09:00 site time (its 30-day window ended on day -16).
INFUSION_DAYS = (-45, -42, -39, -36)


def run_the_job(site: Site) -> None:
    """One run of the worker's once-a-minute job, at the real time, as `make run` does."""
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC))


def day(site: Site, offset: int) -> str:
    return (site.now.astimezone(SITE_ZONE).date() + timedelta(days=offset)).isoformat()


def register_and_enrol(site: Site) -> Any:
    """The walkthrough's `register_and_enrol`: the enrolment response (201, or the refusal)."""
    subject_id = site.register()
    site.consent(subject_id, on=site.site_day(-55))
    screening = site.api.post(
        f"/v1/subjects/{subject_id}/screenings",
        json={
            "screened_on": day(site, -54),
            "answers": eligible_answers(site.site_day(-60), site.site_day(-55)),
        },
        headers=site.as_(Role.COORDINATOR, "nurse-wang"),
    )
    site.ok(screening, 201)
    site.ok(
        site.sign_off(subject_id, {"id": screening.json()["id"], "etag": screening.headers["ETag"]})
    )
    return site.enrol(subject_id)


def enrolled(site: Site) -> str:
    return str(site.ok(register_and_enrol(site), 201)["subject_id"])


def infuse(site: Site, subject_id: str, number: int) -> Any:
    """Prepare, verify by a second pharmacist and record infusion `number` on its walkthrough
    day; returns the infusion response."""
    if number == 1:
        site.ok(site.weigh(subject_id, kg="70.0", offset_days=-47), 201)
    prepared = site.prepare(subject_id, number, first_offset_days=INFUSION_DAYS[0])
    site.ok(prepared, 201)
    site.ok(site.verify(prepared))
    return site.api.post(
        f"/v1/subjects/{subject_id}/infusions",
        json={
            "started_at": f"{day(site, INFUSION_DAYS[number - 1])}T09:00:00+08:00",
            "dose_given_cells": prepared.json()["dose_cells"],
            "product_lot": "LOT-7",
        },
        headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
    )


def treat(site: Site, subject_id: str, numbers: range = range(1, 5)) -> None:
    for number in numbers:
        site.ok(infuse(site, subject_id, number), 201)


def plan(site: Site, subject_id: str) -> Any:
    return site.ok(
        site.api.get(f"/v1/subjects/{subject_id}/infusions", headers=site.as_(Role.MONITOR, "cra"))
    )


def cohort(site: Site, number: int = 1) -> Any:
    cohorts = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.MONITOR, "cra"))
    )
    return next(c for c in cohorts if c["number"] == number)


def outbox(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT envelope FROM enrollment.outbox WHERE event_type = :t ORDER BY id"),
            {"t": event_type},
        ).all()
    return [row.envelope["data"] for row in rows]


def audit_actions(site: Site, entity_id: str) -> list[str]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT record::jsonb ->> 'action' AS action FROM enrollment.audit_log"
                " WHERE record::jsonb ->> 'entity_id' = :e ORDER BY seq"
            ),
            {"e": entity_id},
        ).all()
    return [row.action for row in rows]


def level_1(site: Site) -> Any:
    return site.escalation()["dose_levels"][0]


def test_the_walkthrough_race_a_fourth_infusion_after_the_job_closed_the_window(
    http: Site,
) -> None:
    site = http
    first = enrolled(site)
    treat(site, first)
    deliver(site, adjudication(first, confirmed=True, sequence=2))
    second, third = enrolled(site), enrolled(site)
    assert cohort(site)["status"] == "treating"

    treat(site, second, range(1, 4))
    run_the_job(site)  # the race: the window ended on day -16, so the job closes it now
    window = plan(site, second)
    assert (window["dlt_window_status"], window["dlt_evaluable"]) == ("closed", False)
    assert "received 3 of the 4 required infusions" in window["dlt_evaluability_reason"]
    raced = cohort(site)
    assert (raced["slots"], raced["open_slots"], raced["status"]) == (4, 1, "open")
    assert [s["status"] for s in raced["replacement_slots"]] == ["open"]

    fourth_infusion = infuse(site, second, 4)
    assert fourth_infusion.status_code == 201, fourth_infusion.text

    window = plan(site, second)
    assert (window["dlt_window_status"], window["dlt_evaluable"]) == ("closed", True)
    assert window["dlt_evaluability_reason"] == (
        "received 4 of the 4 required infusions and completed the DLT window"
    )
    after = cohort(site)
    assert (after["slots"], after["open_slots"], after["status"]) == (3, 0, "treating")
    [slot] = after["replacement_slots"]
    assert (slot["status"], slot["replaced_subject_id"]) == ("withdrawn", second)
    assert "infusion 4 recorded by" in slot["premise_failed"]
    [reassessed] = outbox(site, "enrollment.dlt_window.reassessed")
    assert (reassessed["subject_id"], reassessed["status"]) == (second, "evaluable")
    assert reassessed["previous_evaluable"] is False
    [withdrawn] = outbox(site, "enrollment.replacement_slot.withdrawn")
    assert (withdrawn["replaced_subject_id"], withdrawn["slots"]) == (second, 3)
    assert audit_actions(site, second)[-1] == "dlt_window.reassess"
    assert audit_actions(site, f"{TRIAL}/1")[-1] == "cohort.withdraw_replacement_slot"
    assert (level_1(site)["evaluable_patients"], level_1(site)["open_slots"]) == (2, 0)

    treat(site, third)
    refused = register_and_enrol(site)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"] == "/problems/cohort-full"
    assert (problem["slots"], problem["enrolled"]) == (3, 3)

    run_the_job(site)
    state = site.escalation()
    assert state["outcomes"] == "1TNN"
    assert state["pending_decision"]["outcome"] == "stay"
    assert state["replacement_slots_to_review"] == []
    assert (level_1(site)["patients"], level_1(site)["evaluable_patients"]) == (3, 3)


def test_a_replacement_slot_already_taken_is_flagged_for_the_investigator_not_removed(
    http: Site,
) -> None:
    site = http
    first, second, third = enrolled(site), enrolled(site), enrolled(site)
    for subject_id in (first, third):
        treat(site, subject_id)
    treat(site, second, range(1, 4))
    run_the_job(site)
    replacement = enrolled(site)  # takes the slot the job opened for the second subject

    site.ok(infuse(site, second, 4), 201)

    assert plan(site, second)["dlt_evaluable"] is True
    after = cohort(site)
    assert (after["slots"], after["enrolled"], after["status"]) == (4, 4, "treating")
    [slot] = after["replacement_slots"]
    assert (slot["status"], slot["replaced_subject_id"], slot["occupant_subject_id"]) == (
        "flagged",
        second,
        replacement,
    )
    state = site.escalation()
    assert [s["id"] for s in state["replacement_slots_to_review"]] == [slot["id"]]
    assert state["pending_decision"] is None
    flagged = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/replacement-slots",
            params={"status": "flagged"},
            headers=site.as_(Role.INVESTIGATOR, "dr-li"),
        )
    )
    assert [s["occupant_subject_id"] for s in flagged] == [replacement]
    [event] = outbox(site, "enrollment.replacement_slot.flagged")
    assert (event["replaced_subject_id"], event["occupant_subject_id"]) == (second, replacement)
    assert audit_actions(site, f"{TRIAL}/1")[-1] == "cohort.flag_replacement_slot"
    # Nobody is un-enrolled by software: the replacement keeps its slot and its treatment.
    treat(site, replacement)
    run_the_job(site)
    assert (level_1(site)["patients"], level_1(site)["evaluable_patients"]) == (4, 4)
    # Four evaluable subjects in a cohort of three is no history the 3+3 rules know: no
    # decision is recommended while the flag stands.
    state = site.escalation()
    assert (state["outcomes"], state["pending_decision"]) == ("", None)
    assert [s["id"] for s in state["replacement_slots_to_review"]] == [slot["id"]]


def test_a_dlt_confirmed_after_the_window_closed_withdraws_the_replacement_and_a_ruling_out_restores_it(  # noqa: E501
    site: Site,
) -> None:
    subjects = [enrolled(site) for _ in range(3)]
    treat(site, subjects[0], range(1, 4))
    for subject_id in subjects[1:]:
        treat(site, subject_id)
    run_the_job(site)
    assert cohort(site)["open_slots"] == 1

    deliver(site, adjudication(subjects[0], confirmed=True, sequence=2))

    assert plan(site, subjects[0])["dlt_evaluable"] is True
    assert cohort(site)["open_slots"] == 0
    assert [s["status"] for s in cohort(site)["replacement_slots"]] == ["withdrawn"]
    state = site.escalation()
    assert state["outcomes"] == "1TNN"
    assert state["pending_decision"]["outcome"] == "stay"

    deliver(site, adjudication(subjects[0], confirmed=False, sequence=3))

    assert plan(site, subjects[0])["dlt_evaluable"] is False
    assert [s["status"] for s in cohort(site)["replacement_slots"]] == ["withdrawn", "open"]
    assert cohort(site)["open_slots"] == 1
    state = site.escalation()
    assert state["outcomes"] == ""
    assert state["pending_decision"] is None
    statuses = [e["status"] for e in outbox(site, "enrollment.dlt_window.reassessed")]
    assert statuses == ["evaluable", "not-evaluable"]


def test_a_dlt_suspected_after_the_window_closed_reopens_it_until_adjudicated(site: Site) -> None:
    subjects = [enrolled(site) for _ in range(3)]
    treat(site, subjects[0], range(1, 4))
    for subject_id in subjects[1:]:
        treat(site, subject_id)
    run_the_job(site)

    deliver(
        site,
        DltSuspected(
            trial_id=TRIAL,
            subject_id=subjects[0],
            site_id="WCH",
            dlt_id="DLT-1",
            ae_id="AE-1",
            ae_version=1,
            term_code="10035742",
            term="Pneumonitis",
            grade=4,
            baseline_grade=2,
            attribution="probable",
            study_day=9,
            rules=["DLT-PNEUMONITIS"],
            adjudication_sequence=1,
        ).envelope(source="urn:doseline:safety", subject=None, correlation_id="test"),
    )

    window = plan(site, subjects[0])
    assert (window["dlt_window_status"], window["dlt_evaluable"]) == ("open", None)
    assert "awaits adjudication" in window["dlt_evaluability_reason"]
    assert cohort(site)["open_slots"] == 0
    run_the_job(site)
    assert plan(site, subjects[0])["dlt_window_status"] == "open"

    deliver(site, adjudication(subjects[0], confirmed=False, sequence=2))
    run_the_job(site)

    window = plan(site, subjects[0])
    assert (window["dlt_window_status"], window["dlt_evaluable"]) == ("closed", False)
    assert [s["status"] for s in cohort(site)["replacement_slots"]] == ["withdrawn", "open"]
    assert cohort(site)["open_slots"] == 1


def test_an_infusion_recorded_while_the_job_closes_the_window_is_not_lost(site: Site) -> None:
    """The job's transaction and the request's overlap: the request waits for the job's lock
    and then re-assesses the window the job has just closed without the infusion."""
    subjects = [enrolled(site) for _ in range(3)]
    for subject_id in subjects[1:]:
        treat(site, subject_id)
    treat(site, subjects[0], range(1, 4))
    prepared = site.prepare(subjects[0], 4, first_offset_days=INFUSION_DAYS[0])
    site.ok(site.verify(prepared))
    responses: list[Any] = []
    with site.sessions() as session, session.begin():
        close_dlt_windows(session, datetime.now(UTC))  # the job's sweep, not committed yet
        request = threading.Thread(
            target=lambda: responses.append(
                site.api.post(
                    f"/v1/subjects/{subjects[0]}/infusions",
                    json={
                        "started_at": f"{day(site, INFUSION_DAYS[3])}T09:00:00+08:00",
                        "dose_given_cells": prepared.json()["dose_cells"],
                        "product_lot": "LOT-7",
                    },
                    headers=site.as_(Role.PHARMACIST, "pharm-zhao"),
                )
            )
        )
        request.start()
        request.join(timeout=2)
        assert request.is_alive(), "the infusion waits for the job's transaction"
    request.join(timeout=60)
    assert responses[0].status_code == 201, responses[0].text
    window = plan(site, subjects[0])
    assert (window["dlt_window_status"], window["dlt_evaluable"]) == ("closed", True)
    assert cohort(site)["open_slots"] == 0
    run_the_job(site)
    assert site.escalation()["outcomes"] == "1NNN"


def test_a_flag_is_lifted_when_the_replaced_subject_turns_out_not_evaluable_after_all(
    site: Site,
) -> None:
    subjects = [enrolled(site) for _ in range(3)]
    treat(site, subjects[0], range(1, 4))
    for subject_id in subjects[1:]:
        treat(site, subject_id)
    run_the_job(site)
    replacement = enrolled(site)
    deliver(site, adjudication(subjects[0], confirmed=True, sequence=2))
    [slot] = cohort(site)["replacement_slots"]
    assert (slot["status"], slot["occupant_subject_id"]) == ("flagged", replacement)

    deliver(site, adjudication(subjects[0], confirmed=False, sequence=3))

    [slot] = cohort(site)["replacement_slots"]
    assert (slot["status"], slot["occupant_subject_id"], slot["premise_failed"]) == (
        "open",
        None,
        None,
    )
    assert site.escalation()["replacement_slots_to_review"] == []
    assert audit_actions(site, f"{TRIAL}/1")[-1] == "cohort.restore_replacement_slot"
    treat(site, replacement)
    run_the_job(site)
    assert site.escalation()["outcomes"] == "1NNN"


def test_a_weight_or_a_consent_correction_after_the_window_closed_changes_no_judgement(
    site: Site,
) -> None:
    """Both re-assess the closed window (under the same locks); neither enters evaluability
    under this protocol, so the subject stays not evaluable and its replacement slot stays."""
    subjects = [enrolled(site) for _ in range(3)]
    treat(site, subjects[0], range(1, 4))
    run_the_job(site)
    before = plan(site, subjects[0])

    site.ok(site.weigh(subjects[0], kg="68.0", offset_days=-2), 201)
    read = site.api.get(f"/v1/subjects/{subjects[0]}", headers=site.as_(Role.MONITOR, "cra"))
    site.ok(
        site.api.patch(
            f"/v1/subjects/{subjects[0]}",
            json={"consent_signed_on": day(site, -56), "reason": "transcription error"},
            headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": read.headers["ETag"]}),
        )
    )

    after = plan(site, subjects[0])
    assert (after["dlt_evaluable"], after["dlt_evaluability_reason"]) == (
        before["dlt_evaluable"],
        before["dlt_evaluability_reason"],
    )
    assert after["dlt_evaluable"] is False
    assert [s["status"] for s in cohort(site)["replacement_slots"]] == ["open"]
    assert outbox(site, "enrollment.dlt_window.reassessed") == []
