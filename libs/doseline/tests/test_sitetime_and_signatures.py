"""The kit's one definition of site dates, study days and signature freshness."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from doseline import sitetime
from doseline.auth import Principal, Role
from doseline.signatures import (
    CHALLENGE,
    REAUTHENTICATION_WINDOW,
    ReauthenticationRequired,
    authenticated_within,
    require_fresh_authentication,
)

FIRST = date(2026, 3, 2)


def test_a_site_date_is_the_calendar_date_at_the_site_not_in_utc() -> None:
    late_evening_utc = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Chengdu
    assert sitetime.site_date(late_evening_utc, "Asia/Shanghai") == date(2026, 3, 2)
    assert sitetime.site_date(late_evening_utc, "America/New_York") == date(2026, 3, 1)
    assert sitetime.site_today("Asia/Shanghai", late_evening_utc) == date(2026, 3, 2)


@pytest.mark.parametrize("zone", [None, "", "  ", "Mars/Olympus_Mons", "UTC+8", "../etc/passwd"])
def test_an_unknown_or_missing_time_zone_is_refused_never_taken_as_utc(zone: str | None) -> None:
    with pytest.raises(sitetime.UnknownTimeZone) as refused:
        sitetime.site_date(datetime(2026, 3, 1, 17, 0, tzinfo=UTC), zone)
    assert refused.value.status == 422
    assert refused.value.slug == "unknown-site-time-zone"
    assert sitetime.is_known_time_zone(zone or "") is False


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(sitetime.NaiveDateTime, match="has no time zone"):
        sitetime.site_date(datetime(2026, 3, 1, 9, 0), "Asia/Shanghai")  # noqa: DTZ001


def test_a_site_wall_time_is_an_instant_in_the_sites_zone() -> None:
    moment = sitetime.site_datetime(date(2026, 3, 2), time(9), "Asia/Shanghai")
    assert moment.astimezone(UTC) == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "study_day"),
    [
        (date(2026, 2, 28), -2),
        (date(2026, 3, 1), -1),  # CDISC: the day before day 1 is -1; there is no day 0
        (FIRST, 1),
        (date(2026, 3, 3), 2),
        (date(2026, 3, 31), 30),
    ],
)
def test_study_days_follow_cdisc(day: date, study_day: int) -> None:
    assert sitetime.study_day(FIRST, day) == study_day
    assert sitetime.study_date(FIRST, study_day) == day


def test_there_is_no_study_day_0() -> None:
    with pytest.raises(ValueError, match="no study day 0"):
        sitetime.study_date(FIRST, 0)
    days = {sitetime.study_day(FIRST, FIRST + timedelta(days=n)) for n in range(-40, 40)}
    assert 0 not in days


def _principal(auth_time: datetime | None) -> Principal:
    return Principal(
        subject="dr-chen",
        name="Dr Chen",
        roles=frozenset({Role.SAFETY_PHYSICIAN}),
        sites=frozenset({"*"}),
        auth_time=auth_time,
    )


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("auth_time", "fresh"),
    [
        (NOW, True),
        (NOW - REAUTHENTICATION_WINDOW, True),
        (NOW - REAUTHENTICATION_WINDOW - timedelta(seconds=1), False),
        (NOW + timedelta(seconds=30), True),  # the token's clock a little ahead of ours
        (NOW + timedelta(seconds=31), False),
        (None, False),
    ],
)
def test_a_signature_needs_credentials_entered_within_five_minutes(
    auth_time: datetime | None, fresh: bool
) -> None:
    assert authenticated_within(auth_time, NOW) is fresh
    if fresh:
        require_fresh_authentication(_principal(auth_time), now=NOW)
        return
    with pytest.raises(ReauthenticationRequired) as refused:
        require_fresh_authentication(_principal(auth_time), now=NOW)
    assert refused.value.status == 401
    assert refused.value.slug == "reauthentication-required"
    assert refused.value.headers["WWW-Authenticate"] == CHALLENGE
    assert "5 minutes" in refused.value.detail
