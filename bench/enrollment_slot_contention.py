"""Enrollment under contention and the cost of an escalation recompute, on real PostgreSQL.

1. Many simultaneous enrolment requests (real sockets, uvicorn, one connection each) for the
   last slot of cohort 1: wall time until every request is answered, latency percentiles of the
   winner and the 409s, and that exactly one wins.
2. One DLT adjudication handled by the enrollment consumer (row lock, recompute from stored facts,
   `escalation.recommend`, history row, outbox): mean time over repeated adjudications.
3. `GET /v1/trials/{id}/escalation` latency with 9 treated subjects.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); a scratch database is created and dropped.
Usage: uv run --frozen python bench/enrollment_slot_contention.py
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.contracts.safety import DltConfirmed, DltRuledOut
from doseline.db import make_engine, normalise_database_url
from doseline.settings import Environment
from doseline.testing.identifiers import hospital_identifier
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.escalation_state.tasks import on_dlt_adjudicated
from enrollment.manifest import SERVICE
from enrollment.settings import EnrollmentSettings

TRIAL = "HDMSC-RP-01"
SITE = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC)


def headers(role: Role, person: str) -> dict[str, str]:
    token = mint_token(subject=person, roles=[role], auth_time=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}


def day(offset: int) -> str:
    return (NOW + timedelta(days=offset)).astimezone(SITE).date().isoformat()


def ok(response: Any, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.status_code}: {response.text}")
    return response.json()


def eligible_subject(client: TestClient) -> str:
    sid = str(
        ok(
            client.post(
                f"/v1/trials/{TRIAL}/subjects",
                json={"hospital_identifier": hospital_identifier()},
                headers=headers(Role.COORDINATOR, "n"),
            ),
            201,
        )["id"]
    )
    etag = client.get(f"/v1/subjects/{sid}", headers=headers(Role.MONITOR, "m")).headers["ETag"]
    ok(
        client.patch(
            f"/v1/subjects/{sid}",
            json={"consent_signed_on": day(-20)},
            headers={**headers(Role.COORDINATOR, "n"), "If-Match": etag},
        )
    )
    answers = {
        "INC-01": {"value": True},
        "INC-02": {"value": True, "evidence_date": day(-25)},
        "INC-03": {"value": True, "evidence_grade": 2},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": day(-20)},
    }
    screened = client.post(
        f"/v1/subjects/{sid}/screenings",
        json={"screened_on": day(-19), "answers": answers},
        headers=headers(Role.COORDINATOR, "n"),
    )
    screening = ok(screened, 201)
    ok(
        client.post(
            f"/v1/subjects/{sid}/screenings/{screening['id']}/sign-off",
            headers={**headers(Role.INVESTIGATOR, "i"), "If-Match": screened.headers["ETag"]},
        )
    )
    return sid


def treat(client: TestClient, sid: str) -> None:
    ok(
        client.post(
            f"/v1/trials/{TRIAL}/enrolments",
            json={"subject_id": sid},
            headers=headers(Role.COORDINATOR, "n"),
        ),
        201,
    )
    ok(
        client.post(
            f"/v1/subjects/{sid}/weights",
            json={"weight_kg": "62.5", "measured_on": day(-14)},
            headers=headers(Role.COORDINATOR, "n"),
        ),
        201,
    )
    for number, offset in enumerate((-12, -9, -6, -3), start=1):
        prepared = client.post(
            f"/v1/subjects/{sid}/dose-preparations",
            json={"infusion_number": number, "product_lot": "L", "first_infusion_on": day(-12)},
            headers=headers(Role.PHARMACIST, "p1"),
        )
        prep = ok(prepared, 201)
        ok(
            client.post(
                f"/v1/dose-preparations/{prep['id']}/verification",
                headers={**headers(Role.PHARMACIST, "p2"), "If-Match": prepared.headers["ETag"]},
            )
        )
        ok(
            client.post(
                f"/v1/subjects/{sid}/infusions",
                json={
                    "started_at": (NOW + timedelta(days=offset)).isoformat(),
                    "dose_given_cells": prep["dose_cells"],
                    "product_lot": "L",
                },
                headers=headers(Role.PHARMACIST, "p1"),
            ),
            201,
        )


def contention(database_url: str, contenders: int) -> dict[str, Any]:
    settings = EnrollmentSettings(
        database_url=database_url, environment=Environment.TEST, log_level="WARNING", log_json=True
    )
    app = SERVICE.create_app(settings)
    client = TestClient(app)
    ok(
        client.post(
            "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=headers(Role.ADMIN, "a")
        ),
        201,
    )
    for _ in range(2):
        sid = eligible_subject(client)
        ok(
            client.post(
                f"/v1/trials/{TRIAL}/enrolments",
                json={"subject_id": sid},
                headers=headers(Role.COORDINATOR, "n"),
            ),
            201,
        )
    subjects = [eligible_subject(client) for _ in range(contenders)]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    barrier = threading.Barrier(contenders + 1)

    def enrol(sid: str) -> tuple[int, float]:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            request_headers = headers(Role.COORDINATOR, "n")
            barrier.wait()
            started = time.perf_counter()
            response = http.post(
                f"/v1/trials/{TRIAL}/enrolments", json={"subject_id": sid}, headers=request_headers
            )
            return response.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        futures = [pool.submit(enrol, sid) for sid in subjects]
        barrier.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
    statuses = [status for status, _ in results]
    latencies = sorted(ms * 1000 for _, ms in results)
    return {
        "contenders": contenders,
        "wins": statuses.count(201),
        "cohort_full": statuses.count(409),
        "other": len(statuses) - statuses.count(201) - statuses.count(409),
        "wall_ms": wall * 1000,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
    }


def recompute_cost(database_url: str, repetitions: int) -> dict[str, float]:
    settings = EnrollmentSettings(
        database_url=database_url, environment=Environment.TEST, log_level="WARNING", log_json=True
    )
    app = SERVICE.create_app(settings)
    client = TestClient(app)
    ok(
        client.post(
            "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=headers(Role.ADMIN, "a")
        ),
        201,
    )
    subjects = [eligible_subject(client) for _ in range(3)]
    for sid in subjects:
        treat(client, sid)
    engine = make_engine(database_url, pool_size=2)
    sessions = SERVICE.schema.session_factory(engine, audit_keys=AuditKeys.development())
    CLOSE_DLT_WINDOWS.run(sessions, NOW + timedelta(days=20))
    timings = []
    for sequence in range(1, repetitions + 1):
        contract = DltConfirmed if sequence % 2 else DltRuledOut
        envelope = contract(
            trial_id=TRIAL,
            subject_id=subjects[0],
            dlt_id="DLT-1",
            ae_id="AE-1",
            ae_version=1,
            term_code="10035742",
            term="Pneumonitis",
            grade=4,
            baseline_grade=2,
            attribution="probable",
            study_day=9,
            rules=["R"],
            adjudication_sequence=sequence,
            adjudicated_at=datetime.now(UTC),
            signature_hash="a" * 64,
        ).envelope(source="urn:doseline:safety", subject=None, correlation_id="bench")
        started = time.perf_counter()
        with sessions() as session, session.begin():
            on_dlt_adjudicated(session, envelope)
        timings.append((time.perf_counter() - started) * 1000)
    reads = []
    for _ in range(repetitions):
        started = time.perf_counter()
        ok(client.get(f"/v1/trials/{TRIAL}/escalation", headers=headers(Role.MONITOR, "m")))
        reads.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    app.state.engine.dispose()
    return {
        "adjudication_mean_ms": statistics.mean(timings),
        "adjudication_p95_ms": sorted(timings)[int(0.95 * (len(timings) - 1))],
        "state_read_mean_ms": statistics.mean(reads),
    }


def scratch_database(admin_url: str) -> str:
    name = f"enrollment_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = (
        make_url(normalise_database_url(admin_url))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    migrations.upgrade(migrations=SERVICE.migrations, schema=SERVICE.schema, database_url=url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    admin_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    print(f"machine: {os.cpu_count()} CPUs")
    print(
        "| contenders | wins | 409 cohort-full | other | all answered (ms) | p50 (ms)"
        " | p95 (ms) | max (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for contenders in (50, 100, 200):
        url = scratch_database(admin_url)
        try:
            r = contention(url, contenders)
        finally:
            drop_database(admin_url, url)
        print(
            f"| {r['contenders']} | {r['wins']} | {r['cohort_full']} | {r['other']}"
            f" | {r['wall_ms']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} |"
        )
    url = scratch_database(admin_url)
    try:
        cost = recompute_cost(url, 200)
    finally:
        drop_database(admin_url, url)
    print()
    print(
        "DLT adjudication handled (lock, recompute, history, outbox):"
        f" mean {cost['adjudication_mean_ms']:.1f} ms, p95 {cost['adjudication_p95_ms']:.1f} ms"
    )
    print(
        "GET escalation state (3 treated subjects, a pending decision):"
        f" mean {cost['state_read_mean_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
