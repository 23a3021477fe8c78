"""Adverse-event intake throughput, beside a bare FastAPI endpoint that answers the same JSON.

Doseline's path: `POST /v1/adverse-events` on the safety API under uvicorn (one process), each
request a new AE for an infused subject: CTCAE term and grade validated, the protocol's DLT rules
applied, the AE stored with its first version, an audit entry on the keyed chain, an outbox event,
the Idempotency-Key recorded; the machine's PostgreSQL, a scratch database.
Baseline: a FastAPI app with one `POST /v1/adverse-events` that reads the JSON body and answers
201 with an AE response captured from Doseline's path (the same bytes), under the same uvicorn
settings. Both are driven by the same client, in its own process, with the same concurrency and
request count, in the same run; the figure is requests per second and the ratio. Beside it, the
CPU time of the serving process per request (user + system of this process, which serves both
apps while the client runs in its own), which a busy machine disturbs less than the rate, and the
SQL statements one report runs.

Usage: uv run --frozen python bench/safety_ae_throughput.py
(BENCH_REQUESTS, default 2000; BENCH_CONCURRENCY, default 8)
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from _stack import (
    SITE_ZONE,
    bearer,
    headers,
    ok,
    prepare_safety,
    record_baseline,
    scratch_database,
    served,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, event

from doseline.auth import Role
from doseline.settings import Environment
from safety.manifest import SERVICE as SAFETY
from safety.settings import SafetySettings

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
WARM_UP = 100
SUBJECTS = [f"HDMSC-RP-01-{number:03d}" for number in range(1, 51)]
NAUSEA = "10028813"


def ae_body(number: int) -> dict[str, Any]:
    onset = (datetime.now(ZoneInfo(SITE_ZONE)).date() - timedelta(days=9)).isoformat()
    return {
        "subject_id": SUBJECTS[number % len(SUBJECTS)],
        "term_code": NAUSEA,
        "verbatim": f"nausea after lunch, episode {number}",
        "onset_date": onset,
        "grade": 1,
        "attribution": "unlikely",
        "action_taken": "dose_not_changed",
        "outcome": "recovered_resolved",
    }


def drive(
    url: str, token: str, first: int, count: int, concurrency: int
) -> tuple[float, list[int]]:
    """POST `count` distinct AEs from `concurrency` threads; wall seconds and the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    numbers = iter(range(first, first + count))

    def work() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                response = client.post(
                    "/v1/adverse-events",
                    json=ae_body(number),
                    headers={"Authorization": token, "Idempotency-Key": str(uuid.uuid4())},
                )
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


@dataclass(frozen=True)
class Rate:
    per_second: float
    cpu_ms: float  # CPU time of the serving process per request


def rate(port: int, token: str, first: int) -> Rate:
    """Requests per second over REQUESTS, after a warm-up, from a separate client process, and
    the serving process's CPU time per request meanwhile."""
    url = f"http://127.0.0.1:{port}"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(drive, (url, token, first, WARM_UP, CONCURRENCY))
        before = os.times()
        elapsed, statuses = pool.apply(drive, (url, token, first + WARM_UP, REQUESTS, CONCURRENCY))
        after = os.times()
    refused = [code for code in statuses if code != 201]
    if refused:
        raise RuntimeError(f"{len(refused)} of {len(statuses)} requests not created: {refused[:5]}")
    cpu = (after.user - before.user) + (after.system - before.system)
    return Rate(len(statuses) / elapsed, cpu / len(statuses) * 1000)


def statements_of_one_report(client: httpx.Client, engine: Engine, number: int) -> int:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        ok(
            client.post(
                "/v1/adverse-events",
                json=ae_body(number),
                headers=headers(Role.INVESTIGATOR, "dr-li"),
            ),
            201,
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def bare_app(answer: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/adverse-events", status_code=201)
    async def report(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(answer, status_code=201)

    return app


def main() -> None:
    rounds: list[tuple[Rate, Rate]] = []
    with scratch_database("ae_throughput_bench") as database_url:
        prepare_safety(database_url, *SUBJECTS)
        settings = SafetySettings(
            database_url=database_url,
            broker_url="redis://127.0.0.1:1/0",  # the relay is not started: events stay queued
            environment=Environment.TEST,
            log_level="WARNING",
        )
        token = bearer(Role.INVESTIGATOR, "dr-li")
        app = SAFETY.create_app(settings)
        with served(app) as safety_port:
            with httpx.Client(base_url=f"http://127.0.0.1:{safety_port}", timeout=30) as client:
                for subject in SUBJECTS:
                    record_baseline(client, subject)
                answer = ok(
                    client.post(
                        "/v1/adverse-events",
                        json=ae_body(0),
                        headers=headers(Role.INVESTIGATOR, "dr-li"),
                    ),
                    201,
                )
                statements = statements_of_one_report(client, app.state.engine, -1)
            with served(bare_app(answer)) as bare_port:
                for round_number in range(3):
                    first = 1 + round_number * (REQUESTS + WARM_UP)
                    rounds.append((rate(safety_port, token, first), rate(bare_port, token, first)))

    print(f"{REQUESTS} requests per round, {CONCURRENCY} concurrent, client in its own process")
    print(f"SQL statements of one AE report: {statements}")
    print(
        "| round | Doseline AE report (req/s) | bare FastAPI, same JSON (req/s) | ratio |"
        " Doseline CPU (ms/request) | bare CPU (ms/request) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for number, (doseline, bare) in enumerate(rounds, start=1):
        print(
            f"| {number} | {doseline.per_second:.0f} | {bare.per_second:.0f} |"
            f" {doseline.per_second / bare.per_second:.0%} |"
            f" {doseline.cpu_ms:.2f} | {bare.cpu_ms:.2f} |"
        )
    ratio = statistics.median(d.per_second / b.per_second for d, b in rounds)
    cpu_ratio = statistics.median(b.cpu_ms / d.cpu_ms for d, b in rounds)
    print(f"median ratio: {ratio:.0%} (CPU time per request, bare / Doseline: {cpu_ratio:.0%})")


if __name__ == "__main__":
    main()
