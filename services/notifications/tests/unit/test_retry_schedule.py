"""When a webhook delivery is retried, given up, or marks the endpoint gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from notifications.deliveries.models import AttemptOutcome
from notifications.deliveries.schedule import (
    AttemptResult,
    Verdict,
    retry_after_seconds,
    verdict,
)
from notifications.settings import STANDARD_WEBHOOKS_RETRY_SCHEDULE

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _no_jitter(low: float, high: float) -> float:
    return 0.0


def _verdict(
    result: AttemptResult,
    attempts_made: int,
    *,
    jitter: float = 0.0,
    uniform: Callable[[float, float], float] = _no_jitter,
) -> Verdict:
    return verdict(
        result,
        attempts_made=attempts_made,
        schedule=STANDARD_WEBHOOKS_RETRY_SCHEDULE,
        jitter=jitter,
        max_retry_after=86_400,
        now=NOW,
        uniform=uniform,
    )


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_answer_delivers(status: int) -> None:
    assert _verdict(AttemptResult(status), 1).outcome is AttemptOutcome.DELIVERED


def test_410_gone_gives_up_at_once() -> None:
    assert _verdict(AttemptResult(410), 1).outcome is AttemptOutcome.GONE


@pytest.mark.parametrize(
    ("attempts_made", "wait"),
    [
        (1, timedelta(seconds=5)),
        (2, timedelta(minutes=5)),
        (3, timedelta(minutes=30)),
        (4, timedelta(hours=2)),
        (5, timedelta(hours=5)),
        (6, timedelta(hours=10)),
        (7, timedelta(hours=14)),
        (8, timedelta(hours=20)),
        (9, timedelta(hours=24)),
    ],
)
def test_failures_are_retried_on_the_standard_webhooks_schedule(
    attempts_made: int, wait: timedelta
) -> None:
    decided = _verdict(AttemptResult(503), attempts_made)
    assert decided.outcome is AttemptOutcome.RETRY
    assert decided.delay == wait


def test_retries_span_more_than_a_day_before_the_delivery_fails() -> None:
    assert sum(STANDARD_WEBHOOKS_RETRY_SCHEDULE) > 24 * 3600
    assert _verdict(AttemptResult(503), 10).outcome is AttemptOutcome.EXHAUSTED


@pytest.mark.parametrize(
    "result",
    [
        AttemptResult(301),
        AttemptResult(400),
        AttemptResult(404),
        AttemptResult(429),
        AttemptResult(500),
        AttemptResult(None, error="timeout"),
    ],
)
def test_redirects_client_and_server_errors_and_timeouts_are_retried(
    result: AttemptResult,
) -> None:
    assert _verdict(result, 1).outcome is AttemptOutcome.RETRY


@pytest.mark.parametrize("extreme", [-0.2, 0.2])
def test_jitter_moves_a_retry_by_at_most_a_fifth(extreme: float) -> None:
    decided = _verdict(AttemptResult(500), 2, jitter=0.2, uniform=lambda low, high: extreme)
    assert decided.delay == timedelta(seconds=300 * (1 + extreme))


def test_retry_after_asking_for_longer_is_honoured() -> None:
    decided = _verdict(AttemptResult(429, retry_after="120"), 1)
    assert decided.delay == timedelta(seconds=120)


def test_retry_after_asking_for_less_than_the_schedule_does_not_shorten_it() -> None:
    decided = _verdict(AttemptResult(503, retry_after="1"), 2)
    assert decided.delay == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("Mon, 02 Mar 2026 09:31:00 GMT", 60.0),
        ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds
