"""Broker factory from a URL, a readiness probe, and the Redis broker's heartbeat.

RabbitMQ gives an unacknowledged message back the moment its consumer's connection dies. Redis
has no such notion: dramatiq's Redis broker keeps a heartbeat per process and, during
"maintenance", requeues the messages of processes whose heartbeat is older than
`heartbeat_timeout`. Out of the box that pass runs on about one command in a thousand and the
timeout is a minute, so a message taken by a killed worker could wait ten minutes for another
(a confirmed DLT read as suspected all that while). Doseline runs maintenance on every command,
takes a process silent for `REDIS_HEARTBEAT_TIMEOUT_MS` for dead, and keeps its own processes'
heartbeats fresh from a thread (`RedisHeartbeat`) while their consumers are busy — so a dead
worker's messages are redelivered within seconds on both brokers.
"""

from __future__ import annotations

import threading
from typing import Final
from urllib.parse import urlparse

import dramatiq
import structlog
from dramatiq.brokers.stub import StubBroker

RABBITMQ_SCHEMES = {"amqp", "amqps"}
REDIS_SCHEMES = {"redis", "rediss", "valkey"}
REDIS_HEARTBEAT_TIMEOUT_MS: Final = 10_000
REDIS_HEARTBEAT_INTERVAL_SECONDS: Final = 2.0
# dramatiq's scale for maintenance_chance: this many out of a million commands run maintenance.
REDIS_MAINTENANCE_ON_EVERY_COMMAND: Final = 1_000_000

log = structlog.get_logger(__name__)


def make_broker(url: str) -> dramatiq.Broker:
    """`amqp://` → RabbitMQ with publisher confirms, `redis://` → Redis/Valkey, `stub://` → stub."""
    scheme = urlparse(url).scheme
    if scheme in RABBITMQ_SCHEMES:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # noqa: PLC0415 (pika only when used)

        return RabbitmqBroker(url=url, confirm_delivery=True)
    if scheme in REDIS_SCHEMES:
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        return RedisBroker(
            url=url.replace("valkey://", "redis://", 1),
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_ON_EVERY_COMMAND,
        )
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


class RedisHeartbeat:
    """Keeps a Redis broker's process heartbeat fresh and runs its maintenance every few seconds.

    A consumer whose prefetch is full sends no command while its messages are handled; without
    this thread a long job (a CT measured for a minute) would make its process look dead and its
    messages be handed to another worker. Each beat also requeues the messages of processes that
    really died. For any other broker it does nothing.
    """

    def __init__(
        self, broker: dramatiq.Broker, *, interval: float = REDIS_HEARTBEAT_INTERVAL_SECONDS
    ) -> None:
        self._broker = broker
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="redis-heartbeat", daemon=True)

    @property
    def applies(self) -> bool:
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        return isinstance(self._broker, RedisBroker)

    def beat(self) -> None:
        """One heartbeat (and maintenance pass): any command on the process's own id does it."""
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        if isinstance(self._broker, RedisBroker):
            self._broker.do_qsize("doseline.heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception as error:
                # The broker is away: the consumers see it too and reconnect; keep beating.
                log.warning("broker.heartbeat_failed", error=repr(error))

    def start(self) -> None:
        if self.applies:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 1)
