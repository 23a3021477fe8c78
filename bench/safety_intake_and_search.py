"""Safety: CTCAE import, typeahead search latency and FHIR lab intake throughput, on PostgreSQL.

1. Importing NCI's CTCAE v5.0 workbook into the database (read + store), first import and the
   idempotent re-import of the same file.
2. Typeahead: `GET /v1/ctcae/versions/5.0/terms?q=…` for every 1- to 4-letter prefix of every term
   name (deduplicated), through the in-process API, and the SQL search alone.
3. A Bundle of 1,000 lab Observations (ANC, 5 values: grades 4, 3, 2, 1, 0) for 50 subjects posted
   twice: wall time and Observations per second; the second post creates nothing.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); a scratch database is created and dropped. The CTCAE workbook is the one the safety
package ships.
Usage: uv run --frozen python bench/safety_intake_and_search.py
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doseline import migrations
from doseline.audit import AuditKeys
from doseline.auth import Role, mint_token
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.db import make_engine, normalise_database_url
from doseline.settings import Environment
from safety.catalogue import repository as catalogue_repository
from safety.catalogue import service as catalogue
from safety.dictionary import shipped
from safety.manifest import SERVICE
from safety.settings import SafetySettings
from safety.subjects import tasks

SUBJECTS = 50
OBSERVATIONS = 1000


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


def bench_intake(sessions: sessionmaker[Session], client: TestClient) -> None:
    today = datetime.now(UTC).date() - timedelta(days=1)
    for n in range(SUBJECTS):
        envelope = SubjectEnrolled(
            trial_id="HDMSC-RP-01",
            subject_id=f"HDMSC-RP-01-{n:03d}",
            site_id="WCH",
            cohort_number=1,
            dose_level=1,
            enrolled_at=datetime.now(UTC) - timedelta(days=30),
            protocol_version="1.0",
            site_time_zone="Asia/Shanghai",
        ).envelope(source="urn:doseline:enrollment", subject=None, correlation_id="bench")
        with sessions() as session, session.begin():
            tasks.on_subject_enrolled(session, envelope)
    payload = json.dumps(_bundle(today))
    integration = {**_headers(Role.EHR_INTEGRATION), "Content-Type": "application/fhir+json"}
    for attempt in ("first post", "second post"):
        started = time.perf_counter()
        response = client.post("/v1/fhir/Observation", content=payload, headers=integration)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        print(
            f"bundle of {OBSERVATIONS}, {attempt}: {elapsed * 1000:.0f} ms, "
            f"{OBSERVATIONS / elapsed:.0f} Observations/s, outcomes {response.json()['counts']}"
        )


def main() -> None:
    admin_url = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    name = f"safety_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(migrations=SERVICE.migrations, schema=SERVICE.schema, database_url=url)
        engine = make_engine(url, pool_size=4)
        sessions = SERVICE.schema.session_factory(engine, audit_keys=AuditKeys.development())
        settings = SafetySettings(
            database_url=url, environment=Environment.TEST, log_json=False, log_level="WARNING"
        )
        client = TestClient(SERVICE.create_app(settings))
        bench_import(sessions)
        bench_search(sessions, client)
        bench_intake(sessions, client)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
