"""A BOIN trial (HDMSC-RP-02) through enrollment's HTTP API, from the first cohort to a declared
MTD: cohorts enrolled and infused, DLTs confirmed by safety, DLT windows closed, each decision
recommended by the design, signed by the investigator and the safety physician, the next cohort
opened at the size the design asks for, and the last decision completing the trial with its MTD.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.settings import ServiceSettings
from doseline.testing.plugin import TokenFactory
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.protocol import PROTOCOLS_DIR, load_shipped_protocol
from enrollment.settings import EnrollmentSettings
from escalation import BOIN, recommend

from .conftest import Site
from .test_dlt_adjudications import adjudication, deliver

BOIN_TRIAL = "HDMSC-RP-02"
SIGNERS = ((Role.INVESTIGATOR, "dr-li"), (Role.SAFETY_PHYSICIAN, "dr-chen"))

# Each cohort's outcomes (T: a confirmed DLT), and what BOIN (target 0.3, stop at 9 patients on
# a level it stays at) does after it: 0/3 at level 1 escalates; 1/3, then 2/6 at level 2 stay
# (rate between 0.236 and 0.359); 3/9 at level 2 stays, and 9 patients there stop the trial,
# isotonic regression selecting level 2.
COHORTS = (
    (1, "NNN", "escalate", 2),
    (2, "NNT", "stay", 2),
    (2, "NTN", "stay", 2),
    (2, "TNN", "stop", None),
)


@pytest.fixture
def boin_site(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    settings_for: Callable[..., ServiceSettings],
) -> Site:
    client = api("enrollment")
    settings = settings_for("enrollment")
    assert isinstance(settings, EnrollmentSettings)
    created = client.post(
        "/v1/trials", json={"shipped_protocol": "hdmsc-rp-02"}, headers=auth(Role.ADMIN)
    )
    assert created.status_code == 201, created.text
    assert created.json()["design_variant"] == "boin"
    return Site(
        api=client,
        app=client.app,
        settings=settings,
        auth=auth,
        sessions=sessions("enrollment"),
        engine=clean_db,
        trial=BOIN_TRIAL,
    )


def treated_cohort(site: Site, outcomes: str, sequence: int) -> None:
    """Three subjects enrolled and given all four infusions; those marked T have a confirmed
    DLT; then every DLT window has closed."""
    subjects = [site.enrolled_subject() for _ in outcomes]
    for subject_id, outcome in zip(subjects, outcomes, strict=True):
        site.treat(subject_id)
        if outcome == "T":
            deliver(
                site,
                adjudication(
                    subject_id,
                    confirmed=True,
                    sequence=sequence,
                    dlt_id=f"DLT-{subject_id}",
                    trial_id=BOIN_TRIAL,
                ),
            )
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=20))


def sign(site: Site, state: dict[str, Any]) -> None:
    decision_id = state["pending_decision"]["id"]
    for role, person in SIGNERS:
        site.ok(
            site.api.post(
                f"/v1/trials/{BOIN_TRIAL}/escalation/decisions/{decision_id}/signatures",
                json={"role": role.value, "meaning": "approve", "state_hash": state["state_hash"]},
                headers=site.as_(role, person),
            ),
            201,
        )


def cohorts(site: Site) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = site.ok(
        site.api.get(f"/v1/trials/{BOIN_TRIAL}/cohorts", headers=site.as_(Role.MONITOR, "cra"))
    )
    return found


def outbox(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT envelope FROM enrollment.outbox WHERE envelope->>'type' = :t"
                " AND envelope->'data'->>'trial_id' = :trial ORDER BY id"
            ),
            {"t": event_type, "trial": BOIN_TRIAL},
        ).all()
    return [row.envelope["data"] for row in rows]


def test_a_boin_trial_runs_from_the_first_cohort_to_a_declared_mtd(boin_site: Site) -> None:
    site = boin_site
    design = load_shipped_protocol("hdmsc-rp-02").design()
    assert isinstance(design, BOIN)
    history: list[str] = []
    for number, (level, outcomes, outcome, next_dose) in enumerate(COHORTS, start=1):
        cohort = cohorts(site)[-1]
        # The cohort the last signed decision opened, at the size the design asked for.
        assert (cohort["number"], cohort["dose_level"], cohort["planned_size"]) == (
            number,
            level,
            3,
        )
        treated_cohort(site, outcomes, sequence=number)
        history.append(f"{level}{outcomes}")
        state = site.escalation()
        assert state["outcomes"] == " ".join(history)
        expected = recommend(design, state["outcomes"])
        pending = state["pending_decision"]
        assert pending["cohort_number"] == number
        assert (pending["outcome"], pending["next_dose"], pending["mtd"]) == (
            outcome,
            expected.next_dose,
            expected.mtd,
        )
        assert pending["next_dose"] == next_dose
        assert pending["reason"] == expected.reason
        # BOIN treats cohorts of 3 (the design's next_cohort_size), until it stops.
        assert pending["next_cohort_size"] == (3 if expected.continue_trial else None)
        sign(site, state)
        if expected.continue_trial:
            opened = site.ok(
                site.api.post(
                    f"/v1/trials/{BOIN_TRIAL}/cohorts",
                    headers=site.as_(Role.INVESTIGATOR, "dr-li"),
                ),
                201,
            )
            assert (opened["number"], opened["dose_level"], opened["planned_size"]) == (
                number + 1,
                next_dose,
                3,
            )

    final = recommend(design, " ".join(history))
    assert (final.continue_trial, final.mtd) == (False, 2)
    trial = site.ok(site.api.get(f"/v1/trials/{BOIN_TRIAL}", headers=site.as_(Role.MONITOR, "cra")))
    assert (trial["status"], trial["mtd"]) == ("completed", 2)

    decided = outbox(site, "enrollment.escalation.decided")
    assert [(d["outcome"], d["next_dose"], d["mtd"]) for d in decided] == [
        (outcome, next_dose, final.mtd if outcome == "stop" else None)
        for _, _, outcome, next_dose in COHORTS
    ]
    recommended = outbox(site, "enrollment.escalation.recommended")
    assert [r["outcomes"] for r in recommended] == [
        " ".join(history[: n + 1]) for n in range(len(COHORTS))
    ]
    opened_events = outbox(site, "enrollment.cohort.opened")
    assert [(c["cohort_number"], c["dose_level"], c["slots"]) for c in opened_events] == [
        (1, 1, 3),
        (2, 2, 3),
        (3, 2, 3),
        (4, 2, 3),
    ]
    (completed,) = outbox(site, "enrollment.trial.completed")
    assert (completed["mtd"], completed["outcomes"]) == (2, " ".join(history))


def test_a_wrong_design_parameter_is_refused_with_its_key_line_and_column(site: Site) -> None:
    document = (PROTOCOLS_DIR / "hdmsc-rp-02.yaml").read_text(encoding="utf-8")
    broken = document.replace("target: 0.3 ", "target: 0.9 ", 1)
    before = site.row_counts()
    response = site.api.post(
        "/v1/trials", json={"protocol_yaml": broken}, headers=site.as_(Role.ADMIN, "admin")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-protocol"
    (error,) = body["errors"]
    line = next(n for n, row in enumerate(broken.splitlines(), 1) if "target: 0.9" in row)
    assert error["loc"] == ["body", "protocol_yaml", "dose_escalation", "design", "target"]
    assert error["msg"].startswith("target must be between 0.05 and 0.6")
    assert (error["line"], error["column"]) == (
        line,
        broken.splitlines()[line - 1].index("0.9") + 1,
    )
    assert site.row_counts() == before
