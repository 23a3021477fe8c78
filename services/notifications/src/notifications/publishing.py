"""The worker's two outlets for the log: webhook deliveries and the AMQP topic exchange.

Both start right after an append commits, and again every second from a periodic job that
retries what is due and catches up after a crash or an outage.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from doseline.manifest import PeriodicJob
from notifications.db import schema
from notifications.deliveries.service import Dispatcher
from notifications.settings import NotificationsSettings
from notifications.topic.publisher import TopicPublisher


class Publishing:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self.dispatcher = Dispatcher(settings)
        self.topic = TopicPublisher(settings)
        # pika's blocking connection belongs to one thread: every topic pass runs on this one.
        self._topic_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="topic")
        self._topic_queued = False
        self._topic_lock = threading.Lock()

    def after_append(self, engine: Engine) -> None:
        sessions = schema.session_factory(engine, audit_keys=self._settings.audit_keyring)
        self.dispatcher.kick(sessions)
        if self.topic.enabled:
            with self._topic_lock:
                if self._topic_queued:
                    return  # the queued pass will publish this event too
                self._topic_queued = True
            self._topic_thread.submit(self._topic_pass, sessions)

    def _topic_pass(self, sessions: sessionmaker[Session]) -> None:
        with self._topic_lock:
            self._topic_queued = False
        self.topic.publish_logged(sessions)

    def deliver_due(self, sessions: sessionmaker[Session], _now: datetime) -> None:
        self.dispatcher.drain_in_parallel(sessions)

    def publish_topic(self, sessions: sessionmaker[Session], _now: datetime) -> None:
        if self.topic.enabled:
            self._topic_thread.submit(self.topic.publish_pending, sessions).result()

    def jobs(self) -> tuple[PeriodicJob, ...]:
        return (
            PeriodicJob("deliver-webhooks", every=timedelta(seconds=1), run=self.deliver_due),
            PeriodicJob("publish-topic", every=timedelta(seconds=1), run=self.publish_topic),
        )


@lru_cache(maxsize=8)
def publishing_for(settings: NotificationsSettings) -> Publishing:
    """One set of outlets per settings, shared by the worker's handlers and periodic jobs."""
    return Publishing(settings)
