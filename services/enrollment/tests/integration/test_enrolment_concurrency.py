"""Many simultaneous requests for a cohort's last slot: exactly one wins, over real sockets and
real PostgreSQL; the others get 409 `/problems/cohort-full` saying what happens next."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from doseline.auth import Role

from .conftest import TRIAL, Site

CONTENDERS = 60


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    """The enrollment app behind uvicorn on a free port, in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sixty_requests_for_the_last_slot_enrol_exactly_one_subject(
    site: Site, served: str
) -> None:
    site.enrolled_subject()
    site.enrolled_subject()
    contenders = [site.eligible_subject() for _ in range(CONTENDERS)]
    start = threading.Barrier(CONTENDERS)

    def enrol(subject_id: str) -> httpx.Response:
        headers = site.as_(Role.COORDINATOR, "nurse")
        with httpx.Client(base_url=served, timeout=60) as client:
            start.wait()
            return client.post(
                f"/v1/trials/{TRIAL}/enrolments", json={"subject_id": subject_id}, headers=headers
            )

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        responses = list(pool.map(enrol, contenders))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (CONTENDERS - 1)
    for response in responses:
        if response.status_code == 409:
            problem = response.json()
            assert problem["type"] == "/problems/cohort-full"
            assert "cohort 1 at dose level 1 is full (3/3)" in problem["detail"]
            assert "waitlist" in problem["detail"]
            assert "after the escalation decision for cohort 1 is signed" in problem["detail"]
    with site.engine.connect() as connection:
        enrolled = connection.scalar(text("SELECT count(*) FROM enrollment.enrolments"))
        slots = connection.scalar(
            text("SELECT count(DISTINCT slot_number) FROM enrollment.enrolments")
        )
    assert enrolled == slots == 3
    cohorts = site.ok(
        site.api.get(f"/v1/trials/{TRIAL}/cohorts", headers=site.as_(Role.MONITOR, "cra"))
    )
    assert cohorts[0]["enrolled"] == 3
    assert cohorts[0]["open_slots"] == 0


def test_a_retried_enrolment_returns_the_first_result(site: Site) -> None:
    subject_id = site.eligible_subject()
    headers = {**site.as_(Role.COORDINATOR, "nurse"), "Idempotency-Key": "enrol-once"}
    path = f"/v1/trials/{TRIAL}/enrolments"
    first = site.api.post(path, json={"subject_id": subject_id}, headers=headers)
    again = site.api.post(path, json={"subject_id": subject_id}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = site.eligible_subject()
    reused = site.api.post(path, json={"subject_id": other}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
