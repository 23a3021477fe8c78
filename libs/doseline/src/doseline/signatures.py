"""Electronic-signature re-authentication (21 CFR 11.200): the one check every signing uses.

A signature applied outside a continuous session must use all its components, so the signer
must have entered their credentials within ``REAUTHENTICATION_WINDOW`` of signing (the token's
``auth_time``). A stale or missing ``auth_time`` is a 401 that tells the client to sign in
again, with the RFC 6750 / RFC 9470 ``insufficient_user_authentication`` challenge.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from doseline import problems
from doseline.auth import Principal
from doseline.errors import Unauthorized

REAUTHENTICATION_WINDOW: Final = timedelta(minutes=5)
# A token issued by a clock slightly ahead of ours is still fresh.
CLOCK_SKEW: Final = timedelta(seconds=30)
CHALLENGE: Final = 'Bearer realm="doseline", error="insufficient_user_authentication"'


class ReauthenticationRequired(Unauthorized):
    default_problem = problems.REAUTHENTICATION_REQUIRED


def authenticated_within(
    auth_time: datetime | None, now: datetime, window: timedelta = REAUTHENTICATION_WINDOW
) -> bool:
    """True if credentials were (re-)entered at ``auth_time``, no more than ``window`` ago."""
    if auth_time is None:
        return False
    age = now - auth_time
    return -CLOCK_SKEW <= age <= window


def require_fresh_authentication(
    principal: Principal, *, now: datetime, window: timedelta = REAUTHENTICATION_WINDOW
) -> None:
    """Refuse to sign (401) unless ``principal`` entered their credentials within ``window``."""
    if authenticated_within(principal.auth_time, now, window):
        return
    minutes = int(window.total_seconds() // 60)
    raise ReauthenticationRequired(
        "an electronic signature needs you to have entered your credentials within the last "
        f"{minutes} minutes (21 CFR 11.200); sign in again and resend",
        headers={"WWW-Authenticate": CHALLENGE},
    )
