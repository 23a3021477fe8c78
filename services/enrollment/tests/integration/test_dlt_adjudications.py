"""DLT adjudications from the safety service: the newest adjudication of each DLT counts,
whatever the order of arrival; a DLT for an unknown subject is kept and applied later; the
pending decision follows the state, and a changed state voids the signatures on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from doseline.auth import Role
from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.events import Envelope
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.escalation_state.tasks import on_dlt_adjudicated
from enrollment.protocol import load_shipped_protocol
from escalation import recommend

from .conftest import TRIAL, Site


def adjudication(
    subject_id: str,
    *,
    confirmed: bool,
    sequence: int,
    dlt_id: str = "DLT-1",
    trial_id: str = TRIAL,
) -> Envelope:
    facts: dict[str, Any] = {
        "trial_id": trial_id,
        "subject_id": subject_id,
        "site_id": "WCH",
        "dlt_id": dlt_id,
        "ae_id": "AE-1",
        "ae_version": sequence,
        "term_code": "10035742",
        "term": "Pneumonitis",
        "grade": 4,
        "baseline_grade": 2,
        "attribution": "probable",
        "study_day": 9,
        "rules": ["DLT-PNEUMONITIS"],
        "adjudication_sequence": sequence,
        "adjudicated_at": datetime.now(UTC),
        "signature_hash": "a" * 64,
    }
    contract = DltConfirmed(**facts) if confirmed else DltRuledOut(**facts)
    return contract.envelope(
        source="urn:doseline:safety", subject=f"subjects/{subject_id}", correlation_id="test"
    )


def deliver(site: Site, envelope: Envelope) -> None:
    with site.sessions() as session, session.begin():
        on_dlt_adjudicated(session, envelope)


def level(state: dict[str, Any], number: int) -> dict[str, Any]:
    return next(item for item in state["dose_levels"] if item["dose_level"] == number)


def test_a_confirmed_dlt_counts_at_the_subjects_dose_level(site: Site) -> None:
    subject_id = site.enrolled_subject()
    deliver(site, adjudication(subject_id, confirmed=True, sequence=2))
    state = site.escalation()
    assert level(state, 1)["dlts"] == 1
    assert level(state, 1)["evaluable_patients"] == 1
    assert state["unmatched_dlt_events"] == 0


def test_a_ruling_out_that_arrives_before_the_confirmation_it_withdraws_wins(site: Site) -> None:
    subject_id = site.enrolled_subject()
    deliver(site, adjudication(subject_id, confirmed=False, sequence=3))
    deliver(site, adjudication(subject_id, confirmed=True, sequence=2))
    assert level(site.escalation(), 1)["dlts"] == 0


def test_a_later_ruling_out_withdraws_a_confirmed_dlt(site: Site) -> None:
    subject_id = site.enrolled_subject()
    deliver(site, adjudication(subject_id, confirmed=True, sequence=2))
    deliver(site, adjudication(subject_id, confirmed=False, sequence=3))
    assert level(site.escalation(), 1)["dlts"] == 0


def test_a_dlt_for_a_subject_not_enrolled_is_kept_and_counts_once_enrolled(site: Site) -> None:
    subject_id = site.eligible_subject()
    deliver(site, adjudication(subject_id, confirmed=True, sequence=2))
    state = site.escalation()
    assert state["unmatched_dlt_events"] == 1
    assert level(state, 1)["dlts"] == 0
    site.ok(site.enrol(subject_id), 201)
    # The enrolment itself brings the state in step: no other message needs to arrive.
    state = site.escalation()
    assert state["unmatched_dlt_events"] == 0
    assert level(state, 1)["dlts"] == 1


def test_one_dlt_in_three_expands_the_cohort_to_six(site: Site) -> None:
    subjects = [site.enrolled_subject() for _ in range(3)]
    for subject_id in subjects:
        site.treat(subject_id)
    deliver(site, adjudication(subjects[0], confirmed=True, sequence=2))
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    assert state["outcomes"] == "1TNN"
    pending = state["pending_decision"]
    assert (pending["outcome"], pending["next_dose"], pending["next_cohort_size"]) == (
        "stay",
        1,
        3,
    )
    assert (
        pending["reason"] == recommend(load_shipped_protocol("hdmsc-rp-01").design(), "1TNN").reason
    )
    assert state["recommendation"]["reason"] == pending["reason"]
    assert level(state, 1) == {
        "dose_level": 1,
        "per_kg": "330000",
        "patients": 3,
        "evaluable_patients": 3,
        "dlts": 1,
        "open_slots": 0,
    }


def test_a_state_change_before_both_signatures_supersedes_the_decision(site: Site) -> None:
    subjects = [site.enrolled_subject() for _ in range(3)]
    for subject_id in subjects:
        site.treat(subject_id)
    deliver(site, adjudication(subjects[0], confirmed=True, sequence=2))
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    before = site.escalation()
    site.ok(
        site.api.post(
            f"/v1/trials/{TRIAL}/escalation/decisions/{before['pending_decision']['id']}/signatures",
            json={
                "role": "investigator",
                "meaning": "approve",
                "state_hash": before["state_hash"],
            },
            headers=site.as_(Role.INVESTIGATOR, "dr-li"),
        ),
        201,
    )
    deliver(site, adjudication(subjects[0], confirmed=False, sequence=3))
    after = site.escalation()
    assert after["outcomes"] == "1NNN"
    assert after["state_hash"] != before["state_hash"]
    assert after["pending_decision"]["id"] != before["pending_decision"]["id"]
    assert after["pending_decision"]["signatures"] == []
    assert after["pending_decision"]["outcome"] == "escalate"
    decisions = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/escalation/decisions", headers=site.as_(Role.MONITOR, "cra")
        )
    )
    assert [d["status"] for d in decisions] == ["superseded", "pending"]


def suspicion(subject_id: str, *, sequence: int) -> Envelope:
    return DltSuspected(
        trial_id=TRIAL,
        subject_id=subject_id,
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
        adjudication_sequence=sequence,
    ).envelope(source="urn:doseline:safety", subject=None, correlation_id="test")


def test_a_suspected_dlt_keeps_the_window_open_and_the_subject_unreplaced(site: Site) -> None:
    subject_id = site.enrolled_subject()
    site.treat(subject_id, days=(-12, -9, -6))
    deliver(site, suspicion(subject_id, sequence=1))
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    assert level(state, 1)["evaluable_patients"] == 0
    assert level(state, 1)["open_slots"] == 2
    deliver(site, adjudication(subject_id, confirmed=True, sequence=2))
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    assert (level(state, 1)["evaluable_patients"], level(state, 1)["dlts"]) == (1, 1)
    assert level(state, 1)["open_slots"] == 2


def test_a_dlt_confirmed_after_signing_but_before_the_next_cohort_withdraws_the_decision(
    site: Site,
) -> None:
    first = [site.enrolled_subject() for _ in range(3)]
    for subject_id in first:
        site.treat(subject_id)
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    signed_id = state["pending_decision"]["id"]
    for role, person in ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen")):
        site.ok(
            site.api.post(
                f"/v1/trials/{TRIAL}/escalation/decisions/{signed_id}/signatures",
                json={"role": role.value, "meaning": "approve", "state_hash": state["state_hash"]},
                headers=site.as_(role, person),
            ),
            201,
        )
    # Signed "escalate to level 2"; before cohort 2 opens, a DLT of cohort 1 is confirmed.
    deliver(site, adjudication(first[0], confirmed=True, sequence=2))
    state = site.escalation()
    assert state["outcomes"] == "1TNN"
    pending = state["pending_decision"]
    assert (pending["outcome"], pending["next_dose"], pending["signatures"]) == ("stay", 1, [])
    decisions = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/escalation/decisions", headers=site.as_(Role.MONITOR, "cra")
        )
    )
    assert [(d["id"] == signed_id, d["status"]) for d in decisions] == [
        (True, "withdrawn"),
        (False, "pending"),
    ]
    refused = site.api.post(
        f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/escalation-gate-closed"
    with site.sessions() as session:
        withdrawn = (
            session.execute(
                text(
                    "SELECT envelope->'data'->>'decision_id' FROM enrollment.outbox "
                    "WHERE envelope->>'type' = 'enrollment.escalation.decision_withdrawn'"
                )
            )
            .scalars()
            .all()
        )
    assert withdrawn == [signed_id]


def test_a_dlt_confirmed_after_the_decision_was_signed_stops_automatic_decisions(
    site: Site,
) -> None:
    first = [site.enrolled_subject() for _ in range(3)]
    for subject_id in first:
        site.treat(subject_id)
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    for role, person in ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen")):
        site.ok(
            site.api.post(
                f"/v1/trials/{TRIAL}/escalation/decisions/{state['pending_decision']['id']}/signatures",
                json={"role": role.value, "meaning": "approve", "state_hash": state["state_hash"]},
                headers=site.as_(role, person),
            ),
            201,
        )
    site.ok(
        site.api.post(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")),
        201,
    )
    second = [site.enrolled_subject() for _ in range(3)]
    for subject_id in second:
        site.treat(subject_id)
    deliver(site, adjudication(first[0], confirmed=True, sequence=2))
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))
    state = site.escalation()
    assert state["outcomes"] == "1TNN 2NNN"
    assert state["pending_decision"] is None
    assert "not a history the design allows" in state["recommendation"]["reason"]
    assert state["recommendation"]["next_dose"] is None
