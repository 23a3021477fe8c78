"""The webhook dispatcher: claims due deliveries, posts them signed, records every attempt;
and the delivery log it leaves, as subscribers' administrators read it."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit, outbox, pagination
from doseline.contracts.notifications import SubscriptionDisabled
from doseline.errors import NotFound
from doseline.logging import bind_correlation_id, clear_correlation_id
from notifications.deliveries import repository
from notifications.deliveries.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
)
from notifications.deliveries.pinning import PinnedTransport, pinned
from notifications.deliveries.schedule import AttemptResult, verdict
from notifications.deliveries.schemas import AttemptOut, DeliveryDetail, DeliveryOut, DeliveryPage
from notifications.deliveries.signing import webhook_headers
from notifications.event_log import repository as event_log
from notifications.event_log.cloudevent import body_bytes, cloudevent
from notifications.settings import NotificationsSettings
from notifications.subscriptions import repository as subscriptions
from notifications.subscriptions import service as subscription_service
from notifications.subscriptions.models import Subscription
from notifications.subscriptions.secrets import SecretBox
from notifications.subscriptions.targets import Resolver, TargetRefused, check_target

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "notifications dispatcher <system>"
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Delivers webhooks; safe to run in several threads and several workers at once."""

    def __init__(
        self,
        settings: NotificationsSettings,
        *,
        client: httpx.Client | None = None,
        resolve: Resolver | None = None,
        clock: Clock = _utc_now,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._settings = settings
        self._client = client or httpx.Client(
            timeout=settings.delivery_timeout_seconds,
            follow_redirects=False,  # Standard Webhooks: a 3xx is a failure, never followed
            # Connections go to the addresses the target check approved (DNS rebinding).
            transport=PinnedTransport(
                limits=httpx.Limits(max_connections=settings.delivery_threads * 2)
            ),
            trust_env=False,
            headers={"user-agent": "Doseline-Webhooks/1"},
        )
        self._resolve = resolve
        self._box = SecretBox(settings.secret_key.get_secret_value())
        self._clock = clock
        self._uniform = uniform
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- running ---------------------------------------------------------------------------

    def drain(self, sessions: sessionmaker[Session], *, limit: int = 10_000) -> int:
        """Attempt due deliveries one by one until none is due; returns the attempts made."""
        made = 0
        while made < limit and self.attempt_one(sessions):
            made += 1
        return made

    def drain_in_parallel(self, sessions: sessionmaker[Session]) -> int:
        """`drain` on every dispatcher thread at once, waiting for all (the periodic sweep)."""
        pool = self._executor()
        futures = [
            pool.submit(self.drain, sessions) for _ in range(self._settings.delivery_threads)
        ]
        return sum(future.result() for future in futures)

    def kick(self, sessions: sessionmaker[Session]) -> None:
        """Start draining in the background now (after an append commits)."""
        self._executor().submit(self._drain_logged, sessions)

    def _drain_logged(self, sessions: sessionmaker[Session]) -> None:
        try:
            self.drain(sessions)
        except Exception:
            # The periodic sweep retries whatever this pass left; nothing is lost.
            log.exception("webhooks.drain_failed")

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._settings.delivery_threads, thread_name_prefix="webhooks"
                )
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self._client.close()

    # -- one attempt ---------------------------------------------------------------------------

    def attempt_one(self, sessions: sessionmaker[Session]) -> bool:
        """Claim one due delivery and attempt it; False if nothing was due."""
        with sessions() as session, session.begin():
            now = self._clock()
            delivery = repository.claim_due(
                session, now=now, slots=self._settings.in_flight_per_subscription
            )
            if delivery is None:
                return False
            subscription = subscriptions.get(session, delivery.subscription_id)
            event = event_log.by_position(session, delivery.event_position)
            if subscription is None or event is None:
                delivery.status = DeliveryStatus.CANCELLED.value
                delivery.next_attempt_at = None
                return True
            body = body_bytes(cloudevent(event.envelope, position=event.position))
            secrets = [
                self._box.open(s.secret)
                for s in subscriptions.valid_secrets(session, subscription.id, at=now)
            ]
            result, latency_ms, excerpt = self._post(
                subscription.url, event.event_id, body, secrets, now
            )
            # The disabling event, if any, carries the correlation id of the failed event.
            bind_correlation_id(str(event.envelope.get("correlationid") or "") or None)
            try:
                self._record(session, delivery, subscription, result, latency_ms, excerpt, now)
            finally:
                clear_correlation_id()
        return True

    def _post(
        self, url: str, event_id: str, body: bytes, secrets: list[str], now: datetime
    ) -> tuple[AttemptResult, float, str | None]:
        started = time.perf_counter()
        try:
            # Checked again at every attempt: the name may resolve elsewhere since it was saved.
            if self._resolve is None:
                target = check_target(url, allowed=self._settings.allowed_target_networks)
            else:
                target = check_target(
                    url, allowed=self._settings.allowed_target_networks, resolve=self._resolve
                )
            headers = webhook_headers(
                message_id=event_id, timestamp=now, body=body, secrets=secrets
            )
            with pinned(target):
                response = self._client.post(url, content=body, headers=headers)
            excerpt = response.text[: self._settings.response_excerpt_chars]
            result = AttemptResult(
                status_code=response.status_code,
                retry_after=response.headers.get("retry-after"),
                error=None if response.is_success else excerpt or None,
            )
            response_excerpt: str | None = excerpt
        except TargetRefused as error:
            result, response_excerpt = AttemptResult(None, error=f"target refused: {error}"), None
        except httpx.TimeoutException as error:
            result, response_excerpt = AttemptResult(None, error=f"timeout: {error!r}"), None
        except (httpx.HTTPError, ValueError) as error:
            result, response_excerpt = (
                AttemptResult(None, error=f"{type(error).__name__}: {error}"),
                None,
            )
        latency_ms = (time.perf_counter() - started) * 1000
        return result, latency_ms, response_excerpt

    def _record(
        self,
        session: Session,
        delivery: Delivery,
        subscription: Subscription,
        result: AttemptResult,
        latency_ms: float,
        excerpt: str | None,
        now: datetime,
    ) -> None:
        number = delivery.attempts + 1
        decided = verdict(
            result,
            attempts_made=number,
            schedule=self._settings.retry_schedule_seconds,
            jitter=self._settings.retry_jitter,
            max_retry_after=self._settings.max_retry_after_seconds,
            now=now,
            uniform=self._uniform,
        )
        next_at = now + decided.delay if decided.delay is not None else None
        repository.add_attempt(
            session,
            DeliveryAttempt(
                delivery_id=delivery.id,
                number=number,
                attempted_at=now,
                status_code=result.status_code,
                latency_ms=round(latency_ms, 3),
                response_excerpt=excerpt,
                error=result.error,
                outcome=decided.outcome.value,
                next_attempt_at=next_at,
            ),
        )
        delivery.attempts = number
        delivery.last_attempt_at = now
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        delivery.next_attempt_at = next_at
        counter = Subscription.consecutive_failures
        if decided.outcome is AttemptOutcome.DELIVERED:
            delivery.status = DeliveryStatus.DELIVERED.value
            delivery.delivered_at = now
            session.execute(
                update(Subscription)
                .where(Subscription.id == subscription.id)
                .values(consecutive_failures=0)
            )
            return
        session.execute(
            update(Subscription)
            .where(Subscription.id == subscription.id)
            .values(consecutive_failures=counter + 1)
        )
        if decided.outcome is AttemptOutcome.RETRY:
            return
        delivery.status = DeliveryStatus.FAILED.value
        reason = "gone" if decided.outcome is AttemptOutcome.GONE else "retries_exhausted"
        self._disable(session, delivery, reason=reason, now=now)

    def _disable(
        self,
        session: Session,
        delivery: Delivery,
        *,
        reason: str,
        now: datetime,
    ) -> None:
        """Disable the subscription and announce it as an event, in this transaction."""
        locked = subscriptions.get(session, delivery.subscription_id, lock=True)
        if locked is None or not locked.active:
            return
        log.warning("webhooks.subscription_disabled", subscription_id=str(locked.id), reason=reason)
        before = {"active": True}
        locked.active = False
        locked.disabled_at = now
        locked.disabled_reason = (
            "the endpoint answered 410 Gone"
            if reason == "gone"
            else f"delivery of event {delivery.event_id} failed {delivery.attempts} times"
        )
        session.flush()
        audit.record(
            session,
            actor=SYSTEM_ACTOR,
            action="subscription.disable",
            entity_type="subscription",
            entity_id=str(locked.id),
            before=before,
            after={"active": False, "disabled_reason": locked.disabled_reason},
            reason=locked.disabled_reason,
        )
        outbox.record_event(
            session,
            SubscriptionDisabled(
                subscription_id=str(locked.id),
                target_host=urlsplit(locked.url).hostname or "",
                reason="gone" if reason == "gone" else "retries_exhausted",
                event_id=delivery.event_id,
                attempts=delivery.attempts,
                last_status_code=delivery.last_status_code,
                disabled_at=now,
            ),
            subject=f"subscriptions/{locked.id}",
        )


# ---------------------------------------------------------------------------- delivery log


EVENT_ORDER = pagination.Keyset(p=int)


def page_of_subscription(
    session: Session,
    *,
    subscription_id: uuid.UUID,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> DeliveryPage:
    """A subscription's deliveries in the log's order, `limit` after the cursor."""
    subscription_service.one(session, subscription_id)
    (after,) = EVENT_ORDER.read(cursor) or (0,)
    rows = repository.page_for_subscription(
        session, subscription_id=subscription_id, status=status, after=after, limit=limit + 1
    )
    page = EVENT_ORDER.page(rows, limit=limit, key=lambda row: (row.event_position,))
    return DeliveryPage(
        items=[DeliveryOut.model_validate(row, from_attributes=True) for row in page.items],
        next_cursor=page.next_cursor,
    )


def detail(session: Session, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
    """One delivery of the subscription with every attempt made."""
    delivery = repository.get(session, subscription_id=subscription_id, delivery_id=delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} for subscription {subscription_id}")
    attempts = repository.attempts_of(session, delivery.id)
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery, from_attributes=True).model_dump(),
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )
