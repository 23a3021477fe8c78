"""Broker factory from a URL, and a readiness probe for it."""

from __future__ import annotations

from urllib.parse import urlparse

import dramatiq
from dramatiq.brokers.stub import StubBroker

RABBITMQ_SCHEMES = {"amqp", "amqps"}
REDIS_SCHEMES = {"redis", "rediss", "valkey"}


def make_broker(url: str) -> dramatiq.Broker:
    """`amqp://` → RabbitMQ with publisher confirms, `redis://` → Redis/Valkey, `stub://` → stub."""
    scheme = urlparse(url).scheme
    if scheme in RABBITMQ_SCHEMES:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # noqa: PLC0415 (pika only when used)

        return RabbitmqBroker(url=url, confirm_delivery=True)
    if scheme in REDIS_SCHEMES:
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        return RedisBroker(url=url.replace("valkey://", "redis://", 1))  # type: ignore[no-untyped-call]
    if scheme == "stub":
        return StubBroker()
    raise ValueError(f"unsupported broker URL scheme {scheme!r}: use amqp://, redis:// or stub://")


def check_broker(url: str, *, timeout: float = 2.0) -> None:
    """Raise if the broker at `url` does not answer within `timeout` seconds."""
    scheme = urlparse(url).scheme
    if scheme in RABBITMQ_SCHEMES:
        import pika  # noqa: PLC0415

        params = pika.URLParameters(url)
        params.socket_timeout = timeout
        params.blocked_connection_timeout = timeout
        params.connection_attempts = 1
        connection = pika.BlockingConnection(params)
        connection.close()
    elif scheme in REDIS_SCHEMES:
        import redis  # noqa: PLC0415

        client = redis.Redis.from_url(
            url.replace("valkey://", "redis://", 1),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        try:
            client.ping()
        finally:
            client.close()
    elif scheme != "stub":
        raise ValueError(f"unsupported broker URL scheme {scheme!r}")
