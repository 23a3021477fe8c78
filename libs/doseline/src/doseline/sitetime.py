"""Site-local dates and CDISC study days: the one definition every service uses.

A clinical date is the calendar date *at the site*, whatever the zone of the device that
recorded an instant: a dose given at 23:30 in Chengdu is on that Chengdu date, although it is
the previous day in UTC. So every conversion from an instant to a day goes through a site's
IANA time zone, and an unknown zone is refused (``UnknownTimeZone``), never replaced by UTC.

Study days follow CDISC SDTM (``--DY``): the day of the first infusion (the reference start
date) is day 1, the day after it day 2, the day before it day -1. There is no day 0.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doseline import problems
from doseline.errors import InvalidInput


class UnknownTimeZone(InvalidInput, ValueError):
    """A site's time zone is missing or not an IANA name: its calendar dates cannot be known."""

    default_problem = problems.UNKNOWN_SITE_TIME_ZONE


class NaiveDateTime(InvalidInput, ValueError):
    """An instant without a UTC offset: which day it is at the site cannot be known."""

    default_problem = problems.TIME_ZONE_MISSING


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; ``UnknownTimeZone`` if it is missing, blank or not a zone."""
    if name is None or not name.strip():
        raise UnknownTimeZone(
            "the site has no time zone configured, so its calendar date cannot be determined; "
            "configure the site's IANA time zone (for example 'Asia/Shanghai')"
        )
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            f"{name!r} is not an IANA time zone name (for example 'Asia/Shanghai')"
        ) from None


def is_known_time_zone(name: str) -> bool:
    """True if ``name`` is an IANA zone this system can use (for validating configuration)."""
    try:
        site_zone(name)
    except UnknownTimeZone:
        return False
    return True


def site_date(moment: datetime, zone: str | None) -> date:
    """The site's calendar date at the instant ``moment``; a naive datetime is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDateTime(
            f"{moment.isoformat()} has no time zone: give the instant with its UTC offset"
        )
    return moment.astimezone(site_zone(zone)).date()


def site_today(zone: str | None, now: datetime) -> date:
    """Today's calendar date at the site (``now`` is an aware instant)."""
    return site_date(now, zone)


def site_datetime(day: date, at: time, zone: str | None) -> datetime:
    """The instant of the site-local wall time ``at`` on the site date ``day``."""
    return datetime.combine(day, at, site_zone(zone))


def study_day(first_infusion_on: date, day: date) -> int:
    """CDISC study day of ``day``: 1 on the first infusion, -1 the day before, no day 0."""
    if day >= first_infusion_on:
        return (day - first_infusion_on).days + 1
    return (day - first_infusion_on).days


def study_date(first_infusion_on: date, day: int) -> date:
    """The site date of study day ``day`` (the inverse of ``study_day``); day 0 does not exist."""
    if day == 0:
        raise ValueError(
            "there is no study day 0: day 1 is the first infusion, day -1 the day before"
        )
    return first_infusion_on + timedelta(days=day - 1 if day > 0 else day)


def add_months(start: date, months: int) -> date:
    """``start`` plus calendar months, clamped to a shorter month's end (Jan 31 + 1 = Feb 28)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    next_month_first = date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(start.day, last_day))
