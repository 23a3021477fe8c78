"""Safety: CTCAE import, typeahead search latency and FHIR lab intake throughput, on PostgreSQL.

1. Importing NCI's CTCAE v5.0 workbook into the database (read + store), first import and the
   idempotent re-import of the same file.
2. Typeahead: `GET /v1/ctcae/versions/5.0/terms?q=…` for every 1- to 4-letter prefix of every term
   name (deduplicated), through the in-process API, and the SQL search alone.
3. A Bundle of 1,000 lab Observations (ANC, 5 values: grades 4, 3, 2, 1, 0) for 50 subjects in
   their AE reporting period, posted twice: wall time and Observations per second; the first post
   proposes 800 adverse events, the second creates nothing.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); a scratch database is created and dropped per run. The CTCAE workbook is the one the
safety package ships.

Usage: uv run --frozen python bench/safety_intake_and_search.py [--intake-only] [--rounds N]
         [--baseline WORKTREE]
`--baseline` runs the same intake measurement, in the same run and alternating with this tree's,
with another checkout's code (a worktree with its own .venv, e.g. one of main).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.contracts.protocol import ProtocolActivated
from doseline.db import make_engine, normalise_database_url
from doseline.settings import Environment
from doseline.testing import facts
from enrollment.protocol import load_shipped_protocol
from safety.catalogue import repository as catalogue_repository
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.manifest import SERVICE
from safety.protocols import tasks as protocol_tasks
from safety.settings import SafetySettings
from safety.subjects import tasks

try:
    from doseline.runtime import settle_heap
except ImportError:  # a baseline checkout from before the API process settled its heap

    def settle_heap() -> None:
        """Nothing: the baseline's API process left its heap as it was."""


SUBJECTS = 50
OBSERVATIONS = 1000
TRIAL = facts.TRIAL


def _headers(role: Role) -> dict[str, str]:
    token = mint_token(subject="bench", roles=[role], auth_time=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms (n={len(ordered)})"


def _bundle(today: date) -> dict[str, Any]:
    values = [0.4, 0.8, 1.2, 1.6, 3.0]
    entries = []
    for n in range(OBSERVATIONS):
        entries.append(
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"anc-{n}",
                    "meta": {"versionId": "1"},
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
                    "subject": {
                        "identifier": {
                            "system": "urn:doseline:study-subject-id",
                            "value": f"HDMSC-RP-01-{n % SUBJECTS:03d}",
                        }
                    },
                    "effectiveDateTime": f"{today.isoformat()}T08:00:00+08:00",
                    "valueQuantity": {"value": values[n % 5], "unit": "10*9/L"},
                    "referenceRange": [{"low": {"value": 1.8}, "high": {"value": 7.5}}],
                }
            }
        )
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def bench_import(sessions: sessionmaker[Session]) -> None:
    workbook = shipped.workbook()
    timings: list[tuple[str, float, catalogue.ImportOutcome]] = []
    for label in ("first import", "re-import"):
        started = time.perf_counter()
        with sessions() as session, session.begin():
            outcome = catalogue.import_file(
                session, workbook, version="5.0", replace=False, actor="bench"
            )
        timings.append((label, time.perf_counter() - started, outcome))
    for label, elapsed, outcome in timings:
        print(
            f"{label}: {outcome.status}, {outcome.term_count} terms in {outcome.soc_count} "
            f"SOCs, {elapsed * 1000:.0f} ms"
        )


def bench_search(sessions: sessionmaker[Session], client: TestClient) -> None:
    reader = _headers(Role.COORDINATOR)
    with sessions() as session:
        names = [
            row.name_key
            for row in catalogue_repository.search(session, "5.0", text=None, soc=None, limit=1000)
        ]
    prefixes = sorted({n[:k] for n in names for k in range(1, 5) if len(n) >= k})
    http_ms: list[float] = []
    for prefix in prefixes:
        started = time.perf_counter()
        response = client.get(
            "/v1/ctcae/versions/5.0/terms", params={"q": prefix, "limit": 20}, headers=reader
        )
        http_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    sql_ms: list[float] = []
    with sessions() as session:
        for prefix in prefixes:
            started = time.perf_counter()
            catalogue_repository.search(session, "5.0", text=prefix, soc=None, limit=20)
            sql_ms.append((time.perf_counter() - started) * 1000)
    print(f"typeahead over HTTP: {_percentiles(http_ms)}")
    print(f"typeahead SQL only:  {_percentiles(sql_ms)}")


def _deliver(sessions: sessionmaker[Session], handler: Any, contract: Any) -> None:
    envelope = contract.envelope(
        source="urn:doseline:enrollment", subject=None, correlation_id="bench"
    )
    with sessions() as session, session.begin():
        handler(session, envelope)


def prepare_intake(sessions: sessionmaker[Session]) -> date:
    """The trial's protocol in force and 50 subjects first infused ten days ago; returns the
    day the results are dated (yesterday), inside every subject's AE reporting period."""
    protocol = load_shipped_protocol("hdmsc-rp-01")
    _deliver(
        sessions,
        protocol_tasks.on_protocol_activated,
        ProtocolActivated(
            trial_id=TRIAL,
            protocol_id=protocol.protocol.id,
            protocol_version=protocol.protocol.version,
            content_hash=protocol.content_hash,
            sequence=1,
            activation="initial",
            effective_from=None,
            activated_at=datetime.now(UTC),
            reason=None,
            rules=protocol.trial_rules(),
        ),
    )
    day1 = datetime.now(UTC).date() - timedelta(days=10)
    for n in range(SUBJECTS):
        subject_id = f"{TRIAL}-{n:03d}"
        _deliver(
            sessions,
            tasks.on_subject_enrolled,
            facts.enrolled(subject_id, enrolled_at=datetime.now(UTC) - timedelta(days=30)),
        )
        _deliver(
            sessions,
            tasks.on_infusion_administered,
            facts.infused(
                subject_id,
                day1=day1,
                administered_at=datetime.combine(day1, datetime.min.time(), UTC)
                + timedelta(hours=2),
            ),
        )
    return datetime.now(UTC).date() - timedelta(days=1)


def _outcomes(response_bundle: dict[str, Any]) -> Counter[str]:
    return Counter(
        entry["response"]["outcome"]["issue"][0]["details"]["coding"][0]["code"]
        for entry in response_bundle["entry"]
    )


def bench_intake(sessions: sessionmaker[Session], client: TestClient) -> dict[str, float]:
    payload = json.dumps(_bundle(prepare_intake(sessions)))
    integration = {**_headers(Role.EHR_INTEGRATION), "Content-Type": "application/fhir+json"}
    expected = {"first post": {"proposed": 800, "graded": 200}, "re-post": {"duplicate": 1000}}
    timings: dict[str, float] = {}
    for attempt, outcomes in expected.items():
        # CPU time of this process (the client and the in-process API): what the code costs,
        # whatever else the machine is running; PostgreSQL's own time is in the wall time only.
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)  # noqa: B023 (removed before the next attempt)

        event.listen(Engine, "before_cursor_execute", count)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            response = client.post("/v1/fhir/Observation", content=payload, headers=integration)
        finally:
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            event.remove(Engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.text
        found = _outcomes(response.json())
        assert found == outcomes, f"{attempt}: {found}"
        timings[attempt] = elapsed * 1000
        timings[f"{attempt} CPU"] = cpu * 1000
        timings[f"{attempt} statements"] = len(statements)
        print(
            f"bundle of {OBSERVATIONS}, {attempt}: {elapsed * 1000:.0f} ms ({cpu * 1000:.0f} ms "
            f"CPU, {len(statements)} SQL statements), {OBSERVATIONS / elapsed:.0f} "
            f"Observations/s, outcomes {dict(found)}",
            flush=True,
        )
    return timings


def _scratch(admin_url: str) -> tuple[str, str]:
    name = f"safety_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return name, url


def run(admin_url: str, *, intake_only: bool) -> dict[str, float]:
    """One measurement in its own scratch database."""
    name, url = _scratch(admin_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        migrations.upgrade(migrations=SERVICE.migrations, schema=SERVICE.schema, database_url=url)
        engine = make_engine(url, pool_size=4)
        sessions = SERVICE.schema.session_factory(engine, audit_keys=AuditKeys.development())
        settings = SafetySettings(
            database_url=url, environment=Environment.TEST, log_json=False, log_level="WARNING"
        )
        client = TestClient(SERVICE.create_app(settings))
        settle_heap()  # as the API process does once its application is built
        if intake_only:
            with sessions() as session, session.begin():
                catalogue.import_file(
                    session, shipped.workbook(), version="5.0", replace=False, actor="bench"
                )
        else:
            bench_import(sessions)
            bench_search(sessions, client)
        timings = bench_intake(sessions, client)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine.dispose()
        return timings
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _baseline_round(worktree: Path) -> dict[str, float]:
    """The intake measurement with another checkout's code: its interpreter, this script."""
    python = worktree / ".venv" / "bin" / "python"
    finished = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--intake-only", "--json"],
        cwd=worktree,
        check=True,
        capture_output=True,
        text=True,
    )
    timings: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return timings


def _summary(label: str, rounds: list[dict[str, float]]) -> None:
    for attempt in ("first post", "re-post", "first post CPU", "re-post CPU"):
        samples = sorted(r[attempt] for r in rounds)
        print(
            f"{label}, {attempt}: best {samples[0]:.0f} ms, median "
            f"{statistics.median(samples):.0f} ms, worst {samples[-1]:.0f} ms (n={len(samples)})"
        )
    for attempt in ("first post statements", "re-post statements"):
        counts = sorted({int(r[attempt]) for r in rounds if attempt in r})
        if counts:
            print(f"{label}, {attempt}: {', '.join(map(str, counts))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intake-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another worktree, with its .venv")
    parser.add_argument("--json", action="store_true", help="print the timings as JSON last")
    arguments = parser.parse_args()
    admin_url = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    if arguments.json:
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                timings = run(admin_url, intake_only=True)
            finally:
                sys.stdout = stdout
        print(json.dumps(timings))
        return
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average "
        + " ".join(f"{n:.1f}" for n in os.getloadavg())
    )
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for number in range(arguments.rounds):
        if arguments.baseline is not None:
            theirs.append(_baseline_round(arguments.baseline))
            print(f"round {number + 1}, baseline: {theirs[-1]}", flush=True)
        ours.append(run(admin_url, intake_only=arguments.intake_only or number > 0))
    if arguments.baseline is not None:
        _summary(f"baseline ({arguments.baseline})", theirs)
    _summary("this tree", ours)


if __name__ == "__main__":
    main()
