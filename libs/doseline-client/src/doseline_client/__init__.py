"""Typed client for Doseline's event feed and webhook subscriptions, and a webhook verifier."""

from doseline_client.client import NotificationsClient
from doseline_client.errors import DoselineApiError
from doseline_client.models import (
    CreatedSubscription,
    Delivery,
    Event,
    EventPage,
    Replay,
    Subscription,
)
from doseline_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "CreatedSubscription",
    "Delivery",
    "DoselineApiError",
    "Event",
    "EventPage",
    "NotificationsClient",
    "Replay",
    "Subscription",
    "WebhookVerificationError",
    "verify_webhook",
]
