"""Standard Webhooks headers for one attempt: id, timestamp and one signature per secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from notifications.event_log.cloudevent import CLOUDEVENTS_JSON


def webhook_headers(
    *, message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """Sign `"{id}.{timestamp}.{body}"` with each secret (HMAC-SHA256, `v1,`).

    Standard Webhooks v1.0.0: `webhook-signature` is a space-separated list so that during a
    secret rotation receivers holding either the old or the new secret can verify.
    """
    if not secrets:
        raise ValueError("a delivery needs at least one signing secret")
    moment = timestamp.astimezone(UTC)
    text = body.decode("utf-8")
    signatures = [Webhook(secret).sign(message_id, moment, text) for secret in secrets]
    return {
        "content-type": CLOUDEVENTS_JSON,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
