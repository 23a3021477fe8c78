"""When to try a webhook delivery again, and when to give up: plain rules over one attempt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from notifications.deliveries.models import AttemptOutcome


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt returned: a status code, or an error (timeout, refused, ...)."""

    status_code: int | None
    retry_after: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: AttemptOutcome
    delay: timedelta | None  # until the next attempt, for RETRY only


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """RFC 9110 §10.2.3 Retry-After: delay-seconds or an HTTP-date; None if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def jittered(seconds: float, *, jitter: float, uniform: Callable[[float, float], float]) -> float:
    """`seconds` moved by up to ± `jitter` of itself, so retries of many receivers spread out."""
    return seconds * (1.0 + uniform(-jitter, jitter))


def verdict(
    result: AttemptResult,
    *,
    attempts_made: int,
    schedule: Sequence[float],
    jitter: float,
    max_retry_after: float,
    now: datetime,
    uniform: Callable[[float, float], float],
) -> Verdict:
    """Standard Webhooks v1.0.0 operations: 2xx is success; 410 Gone disables the endpoint;
    anything else (3xx not followed, 4xx, 5xx, timeouts) is retried on the schedule, with
    `Retry-After` honoured when it asks for longer; after the last retry the delivery fails.

    `attempts_made` counts this attempt; `schedule[i]` is the wait before attempt i + 2.
    """
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Verdict(AttemptOutcome.DELIVERED, None)
    if code == 410:
        return Verdict(AttemptOutcome.GONE, None)
    if attempts_made > len(schedule):
        return Verdict(AttemptOutcome.EXHAUSTED, None)
    wait = jittered(schedule[attempts_made - 1], jitter=jitter, uniform=uniform)
    asked = retry_after_seconds(result.retry_after, now=now)
    if asked is not None:
        wait = max(wait, min(asked, max_retry_after))
    return Verdict(AttemptOutcome.RETRY, timedelta(seconds=wait))
