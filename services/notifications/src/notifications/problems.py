"""The problem types notifications answers besides the kit's (docs/problems.md)."""

from __future__ import annotations

from doseline.problems import KIT, ProblemCatalogue

PROBLEMS = ProblemCatalogue("notifications", includes=[KIT])

WEBHOOK_TARGET_REFUSED = PROBLEMS.declare(
    "webhook-target-refused",
    422,
    "Webhook target refused",
    "The webhook URL is not one Doseline calls (not https, credentials in it, a host that does "
    "not resolve or resolves to a private or reserved address); the detail says which, so give "
    "a public HTTPS endpoint or have an administrator allow its network.",
)
REPLAY_TOO_LARGE = PROBLEMS.declare(
    "replay-too-large",
    409,
    "Replay too large",
    "The replay range holds more events than one replay resends; replay shorter ranges.",
)
