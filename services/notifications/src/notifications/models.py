"""Every ORM model of the notifications service, imported so the metadata knows all tables."""

from notifications.deliveries import models as deliveries_models
from notifications.event_log import models as event_log_models
from notifications.subscriptions import models as subscriptions_models

__all__ = ["deliveries_models", "event_log_models", "subscriptions_models"]
