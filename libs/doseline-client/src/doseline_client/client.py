"""A typed client for the notifications API: the event feed and webhook subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from doseline_client.errors import DoselineApiError
from doseline_client.models import (
    CreatedSubscription,
    Delivery,
    Event,
    EventPage,
    Replay,
    Subscription,
)


class NotificationsClient:
    """`NotificationsClient("http://127.0.0.1:8004", token=...)`; use as a context manager.

    Pass `http` to use your own `httpx.Client` (proxies, retries, tests); its base URL and
    headers are then yours to set.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8004",
        *,
        token: str | None = None,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._owned = http is None
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout, headers=headers)
        if http is not None and token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> NotificationsClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text}
            raise DoselineApiError(response.status_code, problem)
        return response.json() if response.content else None

    # -- the feed -----------------------------------------------------------------------

    def events(
        self,
        *,
        after: str | None = None,
        types: Sequence[str] = (),
        trial: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> EventPage:
        """One page of the log after `after` (a `next_cursor`), oldest first."""
        params: list[tuple[str, str | int]] = [("limit", limit)]
        params += [("type", pattern) for pattern in types]
        if after:
            params.append(("after", after))
        if trial:
            params.append(("trial", trial))
        if subject:
            params.append(("subject", subject))
        body = self._call("GET", "/v1/events", params=params)
        return EventPage(
            items=[Event.from_json(item) for item in body["items"]],
            next_cursor=str(body["next_cursor"]),
            has_more=bool(body["has_more"]),
        )

    def follow(
        self,
        *,
        after: str | None = None,
        types: Sequence[str] = (),
        trial: str | None = None,
        subject: str | None = None,
        page_size: int = 100,
    ) -> Iterator[EventPage]:
        """Pages after `after` until the feed is caught up. Handle a page's events, then store
        its `next_cursor`; after a crash or downtime, resume from the stored cursor (the events
        of an unfinished page come again, so handle them idempotently by `event.id`)."""
        cursor = after
        while True:
            page = self.events(
                after=cursor, types=types, trial=trial, subject=subject, limit=page_size
            )
            yield page
            cursor = page.next_cursor
            if not page.has_more:
                return

    def event(self, event_id: str) -> Event:
        return Event.from_json(self._call("GET", f"/v1/events/{event_id}"))

    # -- subscriptions --------------------------------------------------------------------

    def create_subscription(
        self,
        url: str,
        event_types: Sequence[str],
        *,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> CreatedSubscription:
        body = self._call(
            "POST",
            "/v1/subscriptions",
            json={"url": url, "event_types": list(event_types), "description": description},
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        )
        return CreatedSubscription(Subscription.from_json(body), secret=str(body["secret"]))

    def subscriptions(self) -> list[Subscription]:
        found: list[Subscription] = []
        cursor: str | None = None
        while True:
            body = self._call(
                "GET", "/v1/subscriptions", params={"cursor": cursor} if cursor else {}
            )
            found += [Subscription.from_json(item) for item in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                return found

    def subscription(self, subscription_id: str) -> Subscription:
        return Subscription.from_json(self._call("GET", f"/v1/subscriptions/{subscription_id}"))

    def update_subscription(
        self,
        subscription: Subscription,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> Subscription:
        """Change what you pass; fails with 412 if someone changed it since you read it."""
        changes: dict[str, Any] = {}
        if url is not None:
            changes["url"] = url
        if event_types is not None:
            changes["event_types"] = list(event_types)
        if description is not None:
            changes["description"] = description
        if active is not None:
            changes["active"] = active
        body = self._call(
            "PATCH",
            f"/v1/subscriptions/{subscription.id}",
            json=changes,
            headers={"If-Match": subscription.etag},
        )
        return Subscription.from_json(body)

    def delete_subscription(self, subscription: Subscription) -> None:
        self._call(
            "DELETE",
            f"/v1/subscriptions/{subscription.id}",
            headers={"If-Match": subscription.etag},
        )

    def rotate_secret(self, subscription_id: str, *, overlap_hours: float | None = None) -> str:
        """A new `whsec_` secret; the old one keeps signing alongside for the overlap."""
        body = self._call(
            "POST",
            f"/v1/subscriptions/{subscription_id}/secret/rotate",
            json={} if overlap_hours is None else {"overlap_hours": overlap_hours},
        )
        return str(body["secret"])

    def replay(
        self,
        subscription_id: str,
        *,
        event_id: str | None = None,
        from_time: datetime | None = None,
        to_time: datetime | None = None,
    ) -> Replay:
        """Deliver one event, or every subscribed event of [from_time, to_time), again."""
        request: dict[str, str] = {}
        if event_id is not None:
            request["event_id"] = event_id
        if from_time is not None:
            request["from_time"] = from_time.isoformat()
        if to_time is not None:
            request["to_time"] = to_time.isoformat()
        body = self._call("POST", f"/v1/subscriptions/{subscription_id}/replays", json=request)
        return Replay(scheduled=int(body["scheduled"]), event_ids=list(body["event_ids"]))

    def deliveries(self, subscription_id: str, *, status: str | None = None) -> list[Delivery]:
        found: list[Delivery] = []
        cursor: str | None = None
        while True:
            params = {k: v for k, v in {"status": status, "cursor": cursor}.items() if v}
            body = self._call(
                "GET", f"/v1/subscriptions/{subscription_id}/deliveries", params=params
            )
            found += [Delivery.from_json(item) for item in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                return found
