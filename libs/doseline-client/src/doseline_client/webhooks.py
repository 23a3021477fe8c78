"""Verifying a Doseline webhook in the receiver: signature, timestamp, and the CloudEvent."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from doseline_client.models import Event


def verify_webhook(body: bytes, headers: Mapping[str, str], secrets: str | Sequence[str]) -> Event:
    """The event, if the body was signed with one of `secrets` within the last 5 minutes.

    Pass the raw request body (re-serialised JSON would not verify) and the request headers.
    During your own secret rotation pass both secrets. Raises `WebhookVerificationError`
    otherwise. Deduplicate on `event.id` (the `webhook-id` header): a retry or a replay
    delivers the same id again.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise ValueError("pass the subscription's whsec_ secret")
    plain = dict(headers.items())
    failure: WebhookVerificationError | None = None
    for secret in candidates:
        try:
            Webhook(secret).verify(body, plain, json_parse=False)
        except WebhookVerificationError as error:
            failure = error
            continue
        event = Event.from_json(json.loads(body))
        if event.id != {k.lower(): v for k, v in plain.items()}.get("webhook-id"):
            raise WebhookVerificationError("the webhook-id header is not the event's id")
        return event
    assert failure is not None
    raise failure


__all__ = ["WebhookVerificationError", "verify_webhook"]
