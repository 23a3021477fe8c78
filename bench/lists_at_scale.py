"""Lists at scale: the p95 of every list endpoint on a database with one trial and on a loaded one.

Two scratch databases are created side by side in one run, each with enrollment, safety and
notifications migrated: "one trial" holds one trial of SUBJECTS subjects, "loaded" holds TRIALS
trials of SUBJECTS subjects. Both are filled by the same set-based INSERTs (generate_series, no
API calls), so the one-trial database is exactly the first trial of the loaded one: per subject
one adverse event (every tenth a suspected DLT, the next one ruled out) and one lab result, per
AE one event in the notifications log delivered to its trial's webhook subscription, and
HISTORY escalation states per trial. Then each service runs under uvicorn on a free loopback
port and every list is asked the same question, first page (the default page size) and the page
after it, over HTTP: the table gives p50 and p95 for each database and the ratio of the p95s.

Needs the machine's PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
postgres); both scratch databases (bench/_stack.py, every service migrated) are dropped at the
end.
Usage: uv run --frozen python bench/lists_at_scale.py [--trials 1000] [--subjects 100]
       [--requests 100]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _stack import bearer, scratch_database, served
from sqlalchemy import Connection, create_engine, text

from doseline.auth import Role
from doseline.contracts.safety import AdverseEventRecorded
from doseline.db import normalise_database_url
from doseline.manifest import ServiceManifest
from doseline.settings import Environment
from enrollment.manifest import SERVICE as ENROLLMENT
from notifications.manifest import SERVICE as NOTIFICATIONS
from safety.manifest import SERVICE as SAFETY

HISTORY = 20
WARM_UP = 10
ROUND = 10
PROTOCOL = Path(__file__).resolve().parents[1] / "services/enrollment/protocols/hdmsc-rp-01.yaml"

# Identifiers are derived from the trial and subject numbers, so both databases hold the same
# first trial: T0000, subjects T0000-001 …; the loaded one adds T0001 … T0999.
_TRIALS = "SELECT t, 'T' || lpad(t::text, 4, '0') AS trial FROM generate_series(0, :trials - 1) t"
_SUBJECTS = f"""
    SELECT trial, n, trial || '-' || lpad(n::text, 3, '0') AS subject,
           t * :subjects + n AS k
    FROM ({_TRIALS}) trials, generate_series(1, :subjects) n
"""
LOAD = [
    (
        "protocol",
        """INSERT INTO enrollment.protocol_versions
           (id, protocol_id, version, content_hash, document, loaded_by, loaded_at)
           VALUES (:protocol_id, 'HDMSC-RP-01', '1.0', :protocol_hash, :document, 'bench',
                   now())""",
    ),
    (
        "trials",
        f"""INSERT INTO enrollment.trials (id, protocol_version_id, site, time_zone, status,
           last_subject_number, created_at, version)
           SELECT trial, :protocol_id, 'WCH', 'Asia/Shanghai', 'active', :subjects, now(), 1
           FROM ({_TRIALS}) trials""",
    ),
    (
        "enrollment subjects",
        f"""INSERT INTO enrollment.subjects (id, trial_id, number, status, registered_at,
           version, site_id)
           SELECT subject, trial, n, 'enrolled', now() - make_interval(secs => k), 1, 'WCH'
           FROM ({_SUBJECTS}) s""",
    ),
    (
        "escalation history",
        f"""INSERT INTO enrollment.escalation_history (id, trial_id, seq, outcomes,
           complete_cohorts, continue_trial, next_dose, reason, protocol_version, protocol_hash,
           state, state_hash, cause, recorded_at)
           SELECT gen_random_uuid(), trial, seq, repeat('1NNN', seq), seq, true, 1 + seq % 5,
                  'escalate', '1.0', :protocol_hash, '{{}}'::jsonb, md5(trial || seq),
                  'bench', now() - make_interval(mins => :history - seq)
           FROM ({_TRIALS}) trials, generate_series(1, :history) seq""",
    ),
    (
        "safety subjects",
        f"""INSERT INTO safety.subjects (subject_id, trial_id, last_infusion_number,
           baseline_conditions, version, site_id)
           SELECT subject, trial, 1, '[]'::jsonb, 1, 'WCH' FROM ({_SUBJECTS}) s""",
    ),
    (
        "adverse events",
        f"""INSERT INTO safety.adverse_events (id, trial_id, subject_id, current_version, source,
           created_at, created_by, serious, dlt_evaluation, version)
           SELECT md5('ae' || subject)::uuid, trial, subject, 1, 'site',
                  now() - make_interval(secs => k), 'bench', false,
                  CASE WHEN n % 10 IN (0, 1) THEN 'suspected_dlt' ELSE 'not_dlt' END, 1
           FROM ({_SUBJECTS}) s""",
    ),
    (
        "adverse event versions",
        f"""INSERT INTO safety.adverse_event_versions (ae_id, number, ctcae_version, term_code,
           term_name, verbatim, onset_date, grade, seriousness, attribution, action_taken,
           outcome, recorded_at, recorded_by)
           SELECT md5('ae' || subject)::uuid, 1, '5.0', '10035742', 'Pneumonitis',
                  'radiation pneumonitis', current_date - 10, 3, '[]'::jsonb, 'possible',
                  'dose_not_changed', 'not_recovered_not_resolved',
                  now() - make_interval(secs => k), 'bench'
           FROM ({_SUBJECTS}) s""",
    ),
    (
        "DLT cases",
        f"""INSERT INTO safety.dlt_cases (id, ae_id, trial_id, subject_id, status, ae_version,
           protocol_sequence, matched_rules, study_day, baseline_grade, adjudication_sequence,
           updated_at, version, protocol_version, protocol_hash)
           SELECT md5('dlt' || subject)::uuid, md5('ae' || subject)::uuid, trial, subject,
                  CASE WHEN n % 10 = 0 THEN 'suspected' ELSE 'ruled_out' END, 1, 1,
                  '["DLT-04"]'::jsonb, 12, 1, 1, now() - make_interval(secs => k), 1, '1.0',
                  :protocol_hash
           FROM ({_SUBJECTS}) s WHERE n % 10 IN (0, 1)""",
    ),
    (
        "lab results",
        f"""INSERT INTO safety.lab_observations (id, observation_id, version_id, status,
           subject_id, loinc, term_code, value, unit, effective_on, grade, grading_reason,
           received_at, received_by, source, outcome)
           SELECT md5('lab' || subject)::uuid, 'anc-' || subject, '1', 'final', subject,
                  '751-8', NULL, 1.2, '10*9/L', current_date - 3, 2, 'bench', now(), 'bench',
                  'bench', 'stored'
           FROM ({_SUBJECTS}) s""",
    ),
    (
        "event log",
        f"""INSERT INTO notifications.event_log (event_id, event_type, source, subject, trial_id,
           subject_id, occurred_at, envelope, site_id)
           SELECT md5('event' || subject)::uuid::text, 'safety.ae.recorded',
                  'urn:doseline:safety', 'subjects/' || subject, trial, subject, now(),
                  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(CAST(:envelope AS jsonb),
                      '{{id}}', to_jsonb(md5('event' || subject)::uuid::text)),
                      '{{subject}}', to_jsonb('subjects/' || subject)),
                      '{{data,trial_id}}', to_jsonb(trial)),
                      '{{data,subject_id}}', to_jsonb(subject)),
                      '{{data,ae_id}}', to_jsonb(md5('ae' || subject)::uuid::text)),
                  'WCH'
           FROM ({_SUBJECTS}) s ORDER BY k""",
    ),
    (
        "subscriptions",
        f"""INSERT INTO notifications.subscriptions (id, url, description, event_types, active,
           consecutive_failures, created_by, created_at, updated_at, version, sites)
           SELECT md5('subscription' || trial)::uuid, 'https://hooks.example.org/' || trial,
                  'pharmacy of ' || trial, '["safety.*"]'::jsonb, true, 0, 'bench', now(),
                  now(), 1, '["*"]'::jsonb
           FROM ({_TRIALS}) trials""",
    ),
    (
        "deliveries",
        """INSERT INTO notifications.deliveries (id, event_position, event_id, subscription_id,
           status, attempts, created_at, delivered_at, last_status_code, replays)
           SELECT gen_random_uuid(), position, event_id, md5('subscription' || trial_id)::uuid,
                  'delivered', 1, now(), now(), 204, 0
           FROM notifications.event_log""",
    ),
]


@dataclass(frozen=True)
class ListCase:
    name: str
    service: ServiceManifest
    path: str
    items: Callable[[Any], list[Any]]
    next_query: Callable[[httpx.Response], dict[str, str] | None]


def _page_items(body: Any) -> list[Any]:
    return list(body["items"])


def _array_items(body: Any) -> list[Any]:
    return list(body)


def _next_cursor(response: httpx.Response) -> dict[str, str] | None:
    cursor = response.json().get("next_cursor")
    return {"cursor": cursor} if cursor else None


def _next_after(response: httpx.Response) -> dict[str, str] | None:
    body = response.json()
    return {"after": body["next_cursor"]} if body.get("has_more") else None


def _next_link(response: httpx.Response) -> dict[str, str] | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    query = httpx.URL(link.split(";")[0].strip("<>")).params
    return {"cursor": query["cursor"]}


SUBSCRIPTION = uuid.UUID(hashlib.md5(b"subscriptionT0000").hexdigest())
CASES = [
    ListCase(
        "subjects of a trial",
        ENROLLMENT,
        "/v1/trials/T0000/subjects",
        _page_items,
        _next_cursor,
    ),
    ListCase(
        "escalation history of a trial",
        ENROLLMENT,
        "/v1/trials/T0000/escalation/history?limit=10",
        _page_items,
        _next_cursor,
    ),
    ListCase(
        "AEs of a trial",
        SAFETY,
        "/v1/adverse-events?trial_id=T0000",
        _page_items,
        _next_cursor,
    ),
    ListCase(
        "AEs of a subject",
        SAFETY,
        "/v1/adverse-events?subject_id=T0000-001",
        _page_items,
        _next_cursor,
    ),
    ListCase(
        "DLTs of a trial, suspected",
        SAFETY,
        "/v1/dlts?status=suspected&trial_id=T0000",
        _array_items,
        _next_link,
    ),
    ListCase(
        "DLTs, suspected, every trial",
        SAFETY,
        "/v1/dlts?status=suspected",
        _array_items,
        _next_link,
    ),
    ListCase(
        "DLTs, suspected, every trial (limit 10)",
        SAFETY,
        "/v1/dlts?status=suspected&limit=10",
        _array_items,
        _next_link,
    ),
    ListCase(
        "event feed of a trial",
        NOTIFICATIONS,
        "/v1/events?trial=T0000",
        _page_items,
        _next_after,
    ),
    ListCase(
        "deliveries of a subscription",
        NOTIFICATIONS,
        f"/v1/subscriptions/{SUBSCRIPTION}/deliveries?limit=50",
        _page_items,
        _next_cursor,
    ),
]


def _envelope() -> str:
    event = AdverseEventRecorded(
        trial_id="T0000",
        subject_id="T0000-001",
        site_id="WCH",
        ae_id=str(uuid.uuid4()),
        ae_version=1,
        ctcae_version="5.0",
        term_code="10035742",
        term="Pneumonitis",
        grade=3,
        serious=False,
        attribution="possible",
        onset_date=datetime.now(UTC).date(),
    ).envelope(source="urn:doseline:safety", subject="subjects/T0000-001", correlation_id="bench")
    return event.model_dump_json()


def load(connection: Connection, *, trials: int, subjects: int) -> None:
    document = PROTOCOL.read_text()
    values: dict[str, Any] = {
        "trials": trials,
        "subjects": subjects,
        "history": HISTORY,
        "protocol_id": uuid.uuid4(),
        "protocol_hash": "sha256:" + hashlib.sha256(document.encode()).hexdigest(),
        "document": document,
        "envelope": _envelope(),
    }
    for label, statement in LOAD:
        started = time.perf_counter()
        query = text(statement)
        names = set(query.compile().params)
        result = connection.execute(query, {k: v for k, v in values.items() if k in names})
        print(
            f"  {label}: {result.rowcount:,} rows, {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    connection.execute(text("ANALYZE"))


@contextmanager
def _served(manifest: ServiceManifest, url: str) -> Iterator[str]:
    settings = manifest.settings_class(
        database_url=url, environment=Environment.TEST, log_json=False, log_level="WARNING"
    )
    with served(manifest.create_app(settings)) as port:
        yield f"http://127.0.0.1:{port}"


def _headers() -> dict[str, str]:
    return {"Authorization": bearer(Role.MONITOR, "bench")}


@dataclass
class Measured:
    p50: float
    p95: float
    items: int


def _measure(client: httpx.Client, path: str, params: dict[str, str], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def _pages(client: httpx.Client, case: ListCase) -> dict[str, dict[str, str]]:
    """The first page's query and, when the list has one, the next page's."""
    url = httpx.URL(case.path)
    base = dict(url.params)
    first = client.get(url.path, params=base)
    first.raise_for_status()
    following = case.next_query(first)
    return {"first page": base} | ({} if following is None else {"next page": base | following})


def measure(
    clients: dict[str, httpx.Client], case: ListCase, requests: int
) -> dict[tuple[str, str], Measured]:
    """Both databases asked in turns of ROUND requests, so a busy moment hits both alike."""
    path = httpx.URL(case.path).path
    pages = {label: _pages(client, case) for label, client in clients.items()}
    out: dict[tuple[str, str], Measured] = {}
    for page in pages["one trial"]:
        if page not in pages["loaded"]:
            continue
        samples: dict[str, list[float]] = {label: [] for label in clients}
        for label, client in clients.items():
            _measure(client, path, pages[label][page], WARM_UP)
        for _ in range(0, requests, ROUND):
            for label, client in clients.items():
                samples[label] += _measure(client, path, pages[label][page], ROUND)
        for label, client in clients.items():
            response = client.get(path, params=pages[label][page])
            ordered = sorted(samples[label])
            out[(page, label)] = Measured(
                p50=statistics.median(ordered),
                p95=ordered[int(0.95 * (len(ordered) - 1))],
                items=len(case.items(response.json())),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--requests", type=int, default=100)
    arguments = parser.parse_args()
    scales = {"one trial": 1, "loaded": arguments.trials}
    results: dict[str, dict[tuple[str, str], Measured]] = {}
    with (
        scratch_database("lists_bench_one") as one_url,
        scratch_database("lists_bench_loaded") as loaded_url,
    ):
        urls = {"one trial": one_url, "loaded": loaded_url}
        for label, trials in scales.items():
            print(f"{label}: {trials:,} trials x {arguments.subjects} subjects", flush=True)
            engine = create_engine(normalise_database_url(urls[label]))
            with engine.begin() as connection:
                load(connection, trials=trials, subjects=arguments.subjects)
            engine.dispose()
        for case in CASES:
            with (
                _served(case.service, one_url) as one,
                _served(case.service, loaded_url) as loaded,
                httpx.Client(base_url=one, headers=_headers(), timeout=60) as one_client,
                httpx.Client(base_url=loaded, headers=_headers(), timeout=60) as loaded_client,
            ):
                clients = {"one trial": one_client, "loaded": loaded_client}
                results[case.name] = measure(clients, case, arguments.requests)
    _print_table(results, scales, arguments)


def _print_table(
    results: dict[str, dict[tuple[str, str], Measured]],
    scales: dict[str, int],
    arguments: argparse.Namespace,
) -> None:
    loaded = scales["loaded"]
    print(
        f"\n{arguments.requests} requests each; one trial vs {loaded:,} trials x "
        f"{arguments.subjects} subjects ({loaded * arguments.subjects:,} AEs, lab results, "
        f"events and deliveries)\n"
    )
    print("| list | page | items | one trial p50 / p95 | loaded p50 / p95 | p95 loaded / one |")
    print("|---|---|---:|---:|---:|---:|")
    for case in CASES:
        measured = results[case.name]
        for page in ("first page", "next page"):
            if (page, "one trial") not in measured:
                continue
            a, b = measured[(page, "one trial")], measured[(page, "loaded")]
            print(
                f"| {case.name} | {page} | {a.items} / {b.items} | {a.p50:.1f} / {a.p95:.1f} ms "
                f"| {b.p50:.1f} / {b.p95:.1f} ms | {b.p95 / a.p95:.2f} |"
            )


if __name__ == "__main__":
    main()
