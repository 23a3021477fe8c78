"""Event type patterns as AMQP topic bindings read them: `*` is one word, `#` zero or more."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A pattern is dot-separated words; each word is a type word, `*` or `#` (AMQP 0-9-1 topic
# exchange semantics, so that `safety.dlt.*` means the same on the feed, in a webhook
# subscription and in a queue binding).
PATTERN = re.compile(r"^(\*|#|[a-z][a-z0-9_]*)(\.(\*|#|[a-z][a-z0-9_]*))*$")
MAX_PATTERN_LENGTH = 120


class InvalidPattern(ValueError):
    """The text is not an event type pattern."""


def check_pattern(pattern: str) -> str:
    """The pattern itself, or InvalidPattern saying what is wrong with it."""
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidPattern(f"a pattern has 1 to {MAX_PATTERN_LENGTH} characters")
    if not PATTERN.match(pattern):
        raise InvalidPattern(
            f"{pattern!r} is not a pattern: use dot-separated lowercase words, '*' for exactly "
            "one word or '#' for any number, e.g. 'safety.dlt.*' or 'safety.#'"
        )
    return pattern


@lru_cache(maxsize=1024)
def pattern_regex(pattern: str) -> str:
    """A POSIX regular expression matching '.' + event type, for the database and for Python.

    Each word is matched with its leading dot, so that `#` can stand for zero words:
    `safety.#` becomes `^\\.safety(\\.[^.]+)*$` and matches `.safety` and `.safety.dlt.confirmed`.
    """
    pieces: list[str] = []
    for word in check_pattern(pattern).split("."):
        if word == "*":
            pieces.append(r"\.[^.]+")
        elif word == "#":
            pieces.append(r"(\.[^.]+)*")
        else:
            pieces.append(r"\." + word)
    return "^" + "".join(pieces) + "$"


def matches(pattern: str, event_type: str) -> bool:
    return re.match(pattern_regex(pattern), "." + event_type) is not None


def matches_any(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(pattern, event_type) for pattern in patterns)
