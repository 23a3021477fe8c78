"""HDMSC-RP-01 driven through the enrollment API from screening to a declared MTD.

Three scenarios of the EXPAND_TOP 3+3 on two dose levels: no DLT; one DLT at level 2 (the
cohort is expanded); two DLTs at level 2 (de-escalation). Confirmed DLTs come from the safety
service's outbox over the real broker; DLT windows close through the scheduled job. The final
state must equal what `libs/escalation` returns for the same outcome string.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from doseline import outbox
from doseline.auth import Role
from doseline.contracts.safety import DltConfirmed
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import EventPump, TokenFactory
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.protocol import load_shipped_protocol
from escalation import recommend

TRIAL = "HDMSC-RP-01"
SITE = ZoneInfo("Asia/Shanghai")


@dataclass
class Clinic:
    """The people of the site, each with a token, working through the enrollment API."""

    api: TestClient
    auth: TokenFactory
    safety_sessions: sessionmaker[Session]
    enrollment_sessions: sessionmaker[Session]
    deliver: EventPump
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    dlt_sequence: int = 0

    def headers(self, role: Role, subject: str, **extra: str) -> dict[str, str]:
        return {
            **self.auth(role, subject=subject, auth_time=datetime.now(UTC)),
            "Idempotency-Key": str(uuid.uuid4()),
            **extra,
        }

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def site_day(self, offset_days: int) -> date:
        return (self.now + timedelta(days=offset_days)).astimezone(SITE).date()

    def treat_new_subject(self) -> str:
        """Register, consent, screen, enrol, weigh, and give four dual-verified infusions."""
        coordinator = self.headers(Role.COORDINATOR, "nurse-wang")
        subject = self.ok(
            self.api.post(
                f"/v1/trials/{TRIAL}/subjects",
                json={"hospital_identifier": hospital_identifier()},
                headers=coordinator,
            ),
            201,
        )
        sid = str(subject["id"])
        read = self.api.get(f"/v1/subjects/{sid}", headers=coordinator)
        self.ok(
            self.api.patch(
                f"/v1/subjects/{sid}",
                json={"consent_signed_on": self.site_day(-20).isoformat()},
                headers={**coordinator, "If-Match": read.headers["ETag"]},
            )
        )
        screened = self.api.post(
            f"/v1/subjects/{sid}/screenings",
            json={
                "screened_on": self.site_day(-19).isoformat(),
                "answers": eligible_answers(self.site_day(-25), self.site_day(-20)),
            },
            headers=self.headers(Role.COORDINATOR, "nurse-wang"),
        )
        screening = self.ok(screened, 201)
        assert screening["status"] == "eligible", screening
        self.ok(
            self.api.post(
                f"/v1/subjects/{sid}/screenings/{screening['id']}/sign-off",
                headers=self.headers(
                    Role.INVESTIGATOR, "dr-li", **{"If-Match": screened.headers["ETag"]}
                ),
            )
        )
        self.ok(
            self.api.post(
                f"/v1/trials/{TRIAL}/enrolments",
                json={"subject_id": sid},
                headers=self.headers(Role.COORDINATOR, "nurse-wang"),
            ),
            201,
        )
        self.ok(
            self.api.post(
                f"/v1/subjects/{sid}/weights",
                json={"weight_kg": "62.5", "measured_on": self.site_day(-14).isoformat()},
                headers=self.headers(Role.COORDINATOR, "nurse-wang"),
            ),
            201,
        )
        for number, day in enumerate((-12, -9, -6, -3), start=1):
            prepared = self.api.post(
                f"/v1/subjects/{sid}/dose-preparations",
                json={
                    "infusion_number": number,
                    "product_lot": "LOT-7",
                    "first_infusion_on": self.site_day(-12).isoformat(),
                },
                headers=self.headers(Role.PHARMACIST, "pharm-zhao"),
            )
            preparation = self.ok(prepared, 201)
            self.ok(
                self.api.post(
                    f"/v1/dose-preparations/{preparation['id']}/verification",
                    headers=self.headers(
                        Role.PHARMACIST, "pharm-liu", **{"If-Match": prepared.headers["ETag"]}
                    ),
                )
            )
            self.ok(
                self.api.post(
                    f"/v1/subjects/{sid}/infusions",
                    json={
                        "started_at": (self.now + timedelta(days=day)).isoformat(),
                        "dose_given_cells": preparation["dose_cells"],
                        "product_lot": "LOT-7",
                    },
                    headers=self.headers(Role.PHARMACIST, "pharm-zhao"),
                ),
                201,
            )
        return sid

    def confirm_dlt(self, subject_id: str) -> None:
        """The safety service confirms a DLT; the event travels over the broker."""
        self.dlt_sequence += 1
        with self.safety_sessions() as session, session.begin():
            outbox.record_event(
                session,
                DltConfirmed(
                    trial_id=TRIAL,
                    subject_id=subject_id,
                    site_id="WCH",
                    dlt_id=f"DLT-{self.dlt_sequence}",
                    ae_id=f"AE-{self.dlt_sequence}",
                    ae_version=1,
                    term_code="10035742",
                    term="Pneumonitis",
                    grade=4,
                    baseline_grade=2,
                    attribution="possible",
                    study_day=8,
                    rules=["DLT-PNEUMONITIS"],
                    adjudication_sequence=2,
                    adjudicated_at=datetime.now(UTC),
                    signature_hash="0" * 64,
                ),
                subject=f"subjects/{subject_id}",
            )

    def close_windows(self) -> None:
        CLOSE_DLT_WINDOWS.run(self.enrollment_sessions, self.now + timedelta(days=20))

    def sign_and_open(self) -> dict[str, Any]:
        """Both signatures on the pending decision; then the next cohort opens, if any."""
        state = self.ok(
            self.api.get(
                f"/v1/trials/{TRIAL}/escalation", headers=self.headers(Role.MONITOR, "cra")
            )
        )
        pending = state["pending_decision"]
        assert pending is not None, state
        for role, person in ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen")):
            self.ok(
                self.api.post(
                    f"/v1/trials/{TRIAL}/escalation/decisions/{pending['id']}/signatures",
                    json={
                        "role": role.value,
                        "meaning": "I approve this escalation decision",
                        "state_hash": state["state_hash"],
                    },
                    headers=self.headers(role, person),
                ),
                201,
            )
        if pending["continue_trial"]:
            self.ok(
                self.api.post(
                    f"/v1/trials/{TRIAL}/cohorts", headers=self.headers(Role.INVESTIGATOR, "dr-li")
                ),
                201,
            )
        return dict(pending)


def eligible_answers(ct_date: date, consent_date: date) -> dict[str, Any]:
    return {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": ct_date.isoformat()},
        "INC-03": {"value": True, "evidence_grade": 2},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": consent_date.isoformat()},
    }


@pytest.fixture
def clinic(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    deliver_events: EventPump,
) -> Iterator[Clinic]:
    client = api("enrollment")
    created = client.post(
        "/v1/trials",
        json={"shipped_protocol": "hdmsc-rp-01"},
        headers=auth(Role.ADMIN, subject="admin"),
    )
    assert created.status_code == 201, created.text
    yield Clinic(
        api=client,
        auth=auth,
        safety_sessions=sessions("safety"),
        enrollment_sessions=sessions("enrollment"),
        deliver=deliver_events,
    )


# Each cohort in order: which of its three subjects have a confirmed DLT.
SCENARIOS = {
    "no DLT: level 2 is expanded to six and declared": ([(), (), ()], "1NNN 2NNN 2NNN", 2),
    "one DLT in three at level 2 expands the cohort to six": (
        [(), (0,), ()],
        "1NNN 2TNN 2NNN",
        2,
    ),
    "two DLTs in three at level 2 de-escalate to level 1": (
        [(), (0, 1), ()],
        "1NNN 2TTN 1NNN",
        1,
    ),
}


@pytest.mark.parametrize(("dlts_by_cohort", "outcomes", "mtd"), SCENARIOS.values(), ids=SCENARIOS)
def test_hdmsc_rp_01_reaches_the_mtd_the_escalation_library_declares(
    clinic: Clinic, dlts_by_cohort: list[tuple[int, ...]], outcomes: str, mtd: int
) -> None:
    for dlt_positions in dlts_by_cohort:
        subjects = [clinic.treat_new_subject() for _ in range(3)]
        for position in dlt_positions:
            clinic.confirm_dlt(subjects[position])
        clinic.deliver()
        clinic.close_windows()
        clinic.sign_and_open()
    clinic.deliver()

    state = clinic.ok(
        clinic.api.get(f"/v1/trials/{TRIAL}/escalation", headers=clinic.auth(Role.MONITOR))
    )
    design = load_shipped_protocol("hdmsc-rp-01").design()
    expected = recommend(design, state["outcomes"])
    assert state["outcomes"] == outcomes
    assert state["trial_status"] == "completed"
    assert not expected.continue_trial
    assert state["mtd"] == expected.mtd == mtd
    assert state["recommendation"]["reason"] == expected.reason

    with clinic.enrollment_sessions() as session:
        published = set(
            session.scalars(
                text(
                    "SELECT DISTINCT event_type FROM enrollment.outbox"
                    " WHERE published_at IS NOT NULL"
                )
            )
        )
    assert published >= {
        "enrollment.subject.screened",
        "enrollment.subject.enrolled",
        "enrollment.infusion.administered",
        "enrollment.dlt_window.closed",
        "enrollment.escalation.recommended",
        "enrollment.escalation.decided",
        "enrollment.cohort.opened",
        "enrollment.trial.completed",
    }

    history = clinic.ok(
        clinic.api.get(f"/v1/trials/{TRIAL}/escalation/history", headers=clinic.auth(Role.MONITOR))
    )["items"]
    for entry in history:
        replayed = recommend(design, entry["outcomes"])
        assert (replayed.continue_trial, replayed.next_dose, replayed.mtd, replayed.reason) == (
            entry["continue_trial"],
            entry["next_dose"],
            entry["mtd"],
            entry["reason"],
        )


def test_a_late_dlt_over_the_broker_is_resolved_and_the_trial_reaches_its_mtd(
    clinic: Clinic,
) -> None:
    """Cohort 1 signed 'escalate' and cohort 2 treated at level 2; then a DLT of cohort 1 is
    confirmed. Decisions stop until the investigator and the safety physician sign that the
    decision stands (ADR 0017); the trial then goes on to the MTD the design declares on the
    history they declared."""
    first = [clinic.treat_new_subject() for _ in range(3)]
    clinic.close_windows()
    clinic.sign_and_open()
    for _ in range(3):
        clinic.treat_new_subject()
    clinic.confirm_dlt(first[0])
    clinic.deliver()
    clinic.close_windows()
    escalation = f"/v1/trials/{TRIAL}/escalation"
    state = clinic.ok(clinic.api.get(escalation, headers=clinic.auth(Role.MONITOR)))
    assert state["outcomes"] == "1TNN 2NNN"
    assert state["pending_decision"] is None
    [late] = state["late_dlts_to_resolve"]
    assert (late["subject_id"], late["contradicts_decision_outcome"]) == (first[0], "escalate")
    proposed = clinic.ok(
        clinic.api.post(
            f"{escalation}/late-dlt-resolutions",
            json={
                "dlt_id": late["dlt_id"],
                "outcome": "decision_stands",
                "reason": "level 2 was tolerated by all three; the escalation stands",
                "role": "safety_physician",
                "meaning": "I resolve the late DLT: the decision stands",
                "state_hash": state["state_hash"],
            },
            headers=clinic.headers(Role.SAFETY_PHYSICIAN, "dr-chen"),
        ),
        201,
    )
    clinic.ok(
        clinic.api.post(
            f"{escalation}/late-dlt-resolutions/{proposed['id']}/signatures",
            json={
                "role": "investigator",
                "meaning": "I agree: the decision stands",
                "state_hash": state["state_hash"],
            },
            headers=clinic.headers(Role.INVESTIGATOR, "dr-li"),
        ),
        201,
    )
    pending = clinic.sign_and_open()
    design = load_shipped_protocol("hdmsc-rp-01").design()
    assert pending["next_dose"] == recommend(design, "1TNN 2NNN", strict=False).next_dose
    for _ in range(3):
        clinic.treat_new_subject()
    clinic.close_windows()
    clinic.sign_and_open()
    clinic.deliver()

    final = clinic.ok(clinic.api.get(escalation, headers=clinic.auth(Role.MONITOR)))
    expected = recommend(design, final["outcomes"], strict=False)
    assert final["outcomes"] == "1TNN 2NNN 2NNN"
    assert final["trial_status"] == "completed"
    assert final["mtd"] == expected.mtd == 2
    assert final["recommendation"]["reason"].startswith(expected.reason)
    with clinic.enrollment_sessions() as session:
        published = list(
            session.scalars(
                text(
                    "SELECT envelope->'data'->>'resolution_id' FROM enrollment.outbox"
                    " WHERE event_type = 'enrollment.escalation.late_dlt_resolved'"
                    " AND published_at IS NOT NULL"
                )
            )
        )
    assert published == [proposed["id"]]
