"""A DLT confirmed after the decision on its cohort was signed and the next cohort opened
(ADR 0017): the state shows it, the investigator and the safety physician resolve it in a signed
resolution (decision stands, decision revised, cohort expanded), and automatic decisions resume
on the history the resolution declares. Every refusal is a problem that says what to fix and
leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from doseline.auth import Role
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.protocol import load_shipped_protocol
from escalation import recommend

from .conftest import TRIAL, Site
from .test_dlt_adjudications import adjudication, deliver, level

RESOLUTIONS = f"/v1/trials/{TRIAL}/escalation/late-dlt-resolutions"
SIGNERS = ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen"))


def close_windows(site: Site) -> None:
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))


def sign_pending_decision(site: Site) -> dict[str, Any]:
    state = site.escalation()
    for role, person in SIGNERS:
        site.ok(
            site.api.post(
                f"/v1/trials/{TRIAL}/escalation/decisions/{state['pending_decision']['id']}/signatures",
                json={"role": role.value, "meaning": "approve", "state_hash": state["state_hash"]},
                headers=site.as_(role, person),
            ),
            201,
        )
    return state


def treated_cohort(site: Site) -> list[str]:
    subjects = [site.enrolled_subject() for _ in range(3)]
    for subject_id in subjects:
        site.treat(subject_id)
    return subjects


def late_dlt_after_escalation(site: Site) -> list[str]:
    """Cohort 1 (level 1) complete without DLT, escalation to level 2 signed, cohort 2 treated;
    then a DLT of cohort 1 is confirmed: '1TNN 2NNN', a history 3+3 cannot produce."""
    first = treated_cohort(site)
    close_windows(site)
    sign_pending_decision(site)
    site.ok(
        site.api.post(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")),
        201,
    )
    treated_cohort(site)
    deliver(site, adjudication(first[0], confirmed=True, sequence=2, dlt_id="DLT-LATE"))
    close_windows(site)
    return first


def resolution_body(state: dict[str, Any], outcome: str, **extra: Any) -> dict[str, Any]:
    return {
        "dlt_id": "DLT-LATE",
        "outcome": outcome,
        "reason": "pneumonitis judged unrelated to the level 2 decision by the review board",
        "role": "investigator",
        "meaning": "I resolve the late DLT as stated",
        "state_hash": state["state_hash"],
        **extra,
    }


def resolve(site: Site, body: dict[str, Any]) -> dict[str, Any]:
    """Proposed by the investigator, signed by the safety physician; the resolution after both."""
    proposed = site.ok(
        site.api.post(RESOLUTIONS, json=body, headers=site.as_(Role.INVESTIGATOR, "dr-li")), 201
    )
    assert (proposed["status"], proposed["missing_signatures"]) == ("pending", ["safety_physician"])
    resolved = site.ok(
        site.api.post(
            f"{RESOLUTIONS}/{proposed['id']}/signatures",
            json={
                "role": "safety_physician",
                "meaning": "I agree with the resolution",
                "state_hash": body["state_hash"],
            },
            headers=site.as_(Role.SAFETY_PHYSICIAN, "dr-chen"),
        ),
        201,
    )
    assert resolved["status"] == "resolved"
    assert resolved["missing_signatures"] == []
    assert [s["role"] for s in resolved["signatures"]] == ["investigator", "safety_physician"]
    return dict(resolved)


def audit_rows(site: Site, entity_id: str) -> list[Any]:
    with site.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT action, actor, after, reason FROM enrollment.audit_log"
                    " WHERE entity_id = :e ORDER BY seq"
                ),
                {"e": entity_id},
            )
        )


def events(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT envelope FROM enrollment.outbox WHERE envelope->>'type' = :t ORDER BY id"),
            {"t": event_type},
        ).all()
    return [row.envelope["data"] for row in rows]


def design_reason(outcomes: str) -> str:
    return recommend(load_shipped_protocol("hdmsc-rp-01").design(), outcomes, strict=False).reason


def test_the_state_shows_the_late_dlt_and_a_decision_that_stands_resumes_decisions(
    site: Site,
) -> None:
    first = late_dlt_after_escalation(site)
    state = site.escalation()
    assert state["outcomes"] == "1TNN 2NNN"
    assert state["pending_decision"] is None
    assert "not a history the design allows" in state["recommendation"]["reason"]
    decisions = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/escalation/decisions", headers=site.as_(Role.MONITOR, "cra")
        )
    )
    [late] = state["late_dlts_to_resolve"]
    assert (late["dlt_id"], late["subject_id"], late["cohort_number"]) == ("DLT-LATE", first[0], 1)
    assert late["contradicts_decision_id"] == decisions[0]["id"]
    assert (late["contradicts_decision_cohort_number"], late["contradicts_decision_outcome"]) == (
        1,
        "escalate",
    )
    assert late["pending_resolution"] is None
    gate = site.api.post(
        f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")
    )
    assert gate.status_code == 409, gate.text
    assert gate.json()["type"] == "/problems/escalation-gate-closed"
    assert "DLT DLT-LATE of cohort 1 was confirmed after the decision" in gate.json()["detail"]

    resolved = resolve(site, resolution_body(state, "decision_stands"))

    after = site.escalation()
    assert after["late_dlts_to_resolve"] == []
    assert after["outcomes"] == "1TNN 2NNN"
    assert after["recommendation"]["reason"].startswith(design_reason("1TNN 2NNN"))
    assert "DLT DLT-LATE (decision stands)" in after["recommendation"]["reason"]
    assert (
        after["recommendation"]["next_dose"]
        == recommend(
            load_shipped_protocol("hdmsc-rp-01").design(), "1TNN 2NNN", strict=False
        ).next_dose
    )
    # Automatic decisions resume: the decision on cohort 2 waits for both signatures.
    assert after["pending_decision"]["cohort_number"] == 2
    assert after["pending_decision"]["state_hash"] == after["state_hash"]
    # Evaluability is the facts': the late DLT counts at level 1.
    assert (level(after, 1)["evaluable_patients"], level(after, 1)["dlts"]) == (3, 1)
    assert (level(after, 2)["evaluable_patients"], level(after, 2)["dlts"]) == (3, 0)
    history = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/escalation/history", headers=site.as_(Role.MONITOR, "cra")
        )
    )["items"]
    assert history[-1]["cause"] == "late DLT DLT-LATE resolved: decision stands"
    assert history[-1]["late_dlt_resolutions"] == [
        {"id": resolved["id"], "dlt_id": "DLT-LATE", "outcome": "decision_stands"}
    ]
    assert history[-1]["state_hash"] == after["state_hash"]
    assert [r.action for r in audit_rows(site, resolved["id"])] == [
        "escalation.late_dlt_resolution.propose",
        "escalation.late_dlt_resolution.sign",
        "escalation.late_dlt_resolution.sign",
        "escalation.late_dlt_resolution.resolve",
    ]
    [event] = events(site, "enrollment.escalation.late_dlt_resolved")
    assert (event["resolution_id"], event["dlt_id"], event["outcome"]) == (
        resolved["id"],
        "DLT-LATE",
        "decision_stands",
    )
    assert (event["decision_id"], event["state_hash"]) == (decisions[0]["id"], state["state_hash"])
    # Resolving it again: nothing left to resolve.
    again = site.api.post(
        RESOLUTIONS,
        json=resolution_body(after, "decision_stands"),
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "/problems/late-dlt-already-resolved"
    assert again.json()["resolution_id"] == resolved["id"]


def test_a_revised_decision_takes_effect_and_the_next_cohort_opens_as_revised(
    site: Site,
) -> None:
    late_dlt_after_escalation(site)
    state = site.escalation()
    revised = {"continue_trial": True, "next_dose": 1, "next_cohort_size": 3}
    resolved = resolve(site, resolution_body(state, "decision_revised", revised_decision=revised))
    assert (resolved["next_dose"], resolved["next_cohort_size"]) == (1, 3)
    after = site.escalation()
    assert after["recommendation"]["next_dose"] == 1
    assert after["recommendation"]["reason"].startswith(
        "decision revised by the investigator and the safety physician after late DLT DLT-LATE"
    )
    assert after["pending_decision"] is None
    decisions = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/escalation/decisions", headers=site.as_(Role.MONITOR, "cra")
        )
    )
    revised_decision = decisions[-1]
    assert revised_decision["id"] == resolved["revised_decision_id"]
    assert (revised_decision["cohort_number"], revised_decision["status"]) == (2, "decided")
    assert (revised_decision["outcome"], revised_decision["next_dose"]) == ("de-escalate", 1)
    assert revised_decision["state_hash"] == after["state_hash"]
    decided = events(site, "enrollment.escalation.decided")
    assert decided[-1]["decision_id"] == revised_decision["id"]
    assert [r.action for r in audit_rows(site, revised_decision["id"])] == [
        "escalation.decision.revise",
        "escalation.decision.take_effect",
    ]
    opened = site.ok(
        site.api.post(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")),
        201,
    )
    assert (opened["number"], opened["dose_level"], opened["slots"]) == (3, 1, 3)
    # The revised cohort completes and the design decides again, on the declared history.
    treated_cohort(site)
    close_windows(site)
    final = site.escalation()
    assert final["outcomes"] == "1TNN 2NNN 1NNN"
    assert final["recommendation"]["reason"].startswith(design_reason("1TNN 2NNN 1NNN"))
    assert final["pending_decision"]["cohort_number"] == 3
    assert (level(final, 1)["evaluable_patients"], level(final, 1)["dlts"]) == (6, 1)


def test_an_expanded_cohort_opens_at_its_level_and_decisions_wait_for_it(site: Site) -> None:
    late_dlt_after_escalation(site)
    state = site.escalation()
    resolved = resolve(
        site,
        resolution_body(state, "cohort_expanded", expansion={"cohort_number": 1, "subjects": 3}),
    )
    assert (resolved["opened_cohort_number"], resolved["added_subjects"]) == (3, 3)
    cohorts = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.MONITOR, "cra"))
    )
    assert [(c["number"], c["dose_level"], c["slots"]) for c in cohorts] == [
        (1, 1, 3),
        (2, 2, 3),
        (3, 1, 3),
    ]
    [opened] = [e for e in events(site, "enrollment.cohort.opened") if e["cohort_number"] == 3]
    assert (opened["dose_level"], opened["slots"]) == (1, 3)
    waiting = site.escalation()
    assert waiting["pending_decision"] is None
    assert waiting["late_dlts_to_resolve"] == []
    assert level(waiting, 1)["open_slots"] == 3
    treated_cohort(site)
    close_windows(site)
    after = site.escalation()
    assert after["outcomes"] == "1TNN 2NNN 1NNN"
    assert after["recommendation"]["reason"].startswith(design_reason("1TNN 2NNN 1NNN"))
    assert after["pending_decision"]["cohort_number"] == 3
    assert (level(after, 1)["evaluable_patients"], level(after, 1)["dlts"]) == (6, 1)
    [event] = events(site, "enrollment.escalation.late_dlt_resolved")
    assert (event["outcome"], event["expanded_cohort_number"], event["opened_cohort_number"]) == (
        "cohort_expanded",
        1,
        3,
    )


def test_refused_resolutions_say_what_is_missing_and_leave_nothing_behind(site: Site) -> None:
    first = treated_cohort(site)
    close_windows(site)
    state = site.escalation()
    nothing = site.api.post(
        RESOLUTIONS,
        json=resolution_body(state, "decision_stands"),
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert nothing.status_code == 409, nothing.text
    assert nothing.json()["type"] == "/problems/nothing-to-resolve"
    assert "late DLTs to resolve: none" in nothing.json()["detail"]

    sign_pending_decision(site)
    site.ok(
        site.api.post(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.INVESTIGATOR, "dr-li")),
        201,
    )
    deliver(site, adjudication(first[0], confirmed=True, sequence=2, dlt_id="DLT-LATE"))
    state = site.escalation()
    body = resolution_body(state, "decision_stands")
    before = site.row_counts()

    unsigned = site.api.post(
        RESOLUTIONS,
        json=body,
        headers={
            # Credentials entered 10 minutes ago: the token cannot carry a signature.
            **site.auth(
                Role.INVESTIGATOR,
                subject="dr-li",
                auth_time=datetime.now(UTC) - timedelta(minutes=10),
            ),
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert unsigned.status_code == 401, unsigned.text
    assert unsigned.headers["content-type"] == "application/problem+json"
    assert unsigned.json()["type"] == "/problems/reauthentication-required"
    no_signature = site.api.post(
        RESOLUTIONS,
        json={k: v for k, v in body.items() if k not in {"role", "meaning", "state_hash"}},
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert no_signature.status_code == 422, no_signature.text
    assert all(
        field in no_signature.json()["detail"] for field in ("role", "meaning", "state_hash")
    )
    coordinator = site.api.post(RESOLUTIONS, json=body, headers=site.as_(Role.COORDINATOR, "nurse"))
    assert coordinator.status_code == 403, coordinator.text
    wrong_role = site.api.post(
        RESOLUTIONS,
        json={**body, "role": "safety_physician"},
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert wrong_role.status_code == 403, wrong_role.text
    assert wrong_role.json()["type"] == "/problems/signing-role-missing"
    stale = site.api.post(
        RESOLUTIONS,
        json={**body, "state_hash": "0" * 64},
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_state_hash"] == state["state_hash"]
    revised_without_decision = site.api.post(
        RESOLUTIONS,
        json={**body, "outcome": "decision_revised"},
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert revised_without_decision.status_code == 422, revised_without_decision.text
    assert "revised_decision" in revised_without_decision.json()["detail"]
    # Cohort 2 is still open: an expansion would have two cohorts taking patients.
    expansion = site.api.post(
        RESOLUTIONS,
        json={
            **body,
            "outcome": "cohort_expanded",
            "expansion": {"cohort_number": 1, "subjects": 3},
        },
        headers=site.as_(Role.INVESTIGATOR, "dr-li"),
    )
    assert expansion.status_code == 409, expansion.text
    assert expansion.json()["type"] == "/problems/cohort-still-open"
    assert site.row_counts() == before

    key = str(uuid.uuid4())
    headers = {**site.as_(Role.INVESTIGATOR, "dr-li"), "Idempotency-Key": key}
    proposed = site.ok(site.api.post(RESOLUTIONS, json=body, headers=headers), 201)
    replayed = site.ok(site.api.post(RESOLUTIONS, json=body, headers=headers), 201)
    assert replayed == proposed
    duplicate = site.api.post(
        RESOLUTIONS,
        json={**body, "role": "safety_physician"},
        headers=site.as_(Role.SAFETY_PHYSICIAN, "dr-chen"),
    )
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["type"] == "/problems/resolution-pending"
    assert "safety_physician" in duplicate.json()["detail"]
    signature = {"role": "investigator", "meaning": "again", "state_hash": state["state_hash"]}
    same_person = site.api.post(
        f"{RESOLUTIONS}/{proposed['id']}/signatures",
        json={**signature, "role": "safety_physician"},
        headers=site.as_(Role.SAFETY_PHYSICIAN, "dr-li"),
    )
    assert same_person.status_code == 409, same_person.text
    assert same_person.json()["type"] == "/problems/same-signer"
    same_role = site.api.post(
        f"{RESOLUTIONS}/{proposed['id']}/signatures",
        json=signature,
        headers=site.as_(Role.INVESTIGATOR, "dr-wang"),
    )
    assert same_role.status_code == 409, same_role.text
    assert same_role.json()["type"] == "/problems/already-signed"
    listed = site.ok(site.api.get(RESOLUTIONS, headers=site.as_(Role.MONITOR, "cra")))
    assert [(r["id"], r["status"]) for r in listed] == [(proposed["id"], "pending")]
    [late] = site.escalation()["late_dlts_to_resolve"]
    assert late["pending_resolution"]["id"] == proposed["id"]
