"""Structured JSON logs (structlog) that carry the correlation id of the request or event."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

import structlog

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id() -> str:
    """The correlation id of the current request or event, minted if there is none yet."""
    current = _correlation_id.get()
    if current is None:
        current = str(uuid.uuid4())
        _correlation_id.set(current)
    return current


def bind_correlation_id(value: str | None) -> str:
    """Adopt an incoming correlation id (or mint one) for the rest of this context."""
    chosen = value if value else str(uuid.uuid4())
    _correlation_id.set(chosen)
    structlog.contextvars.bind_contextvars(correlation_id=chosen)
    return chosen


def clear_correlation_id() -> None:
    _correlation_id.set(None)
    structlog.contextvars.unbind_contextvars("correlation_id")


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog output through one JSON renderer on stderr."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # A record below the configured level is dropped before the processors run (a request's
        # access line is built for nothing otherwise).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
    for noisy in ("pika", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
