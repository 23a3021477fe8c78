"""Protocol versions received from enrollment, and the visit schedule in force at a date.

Enrollment publishes ``enrollment.protocol.activated`` whenever a protocol version comes into
force. Imaging stores each activation once and, whatever order they arrive in, places an
assessment with the visit schedule of the version in force on the day it was performed (of the
versions effective on or before that site date, the one activated last). A trial from which no
protocol version has arrived keeps the schedule registered through imaging's own API.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doseline import protocol_versions
from doseline.contracts.protocol import (
    WALK_COURSE_LENGTH_M,
    ProtocolActivated,
    SiteRules,
    TrialRules,
    in_force_at,
)
from imaging.protocols.models import ProtocolVersionRow
from imaging.schedule.visits import FollowUpVisit, VisitSchedule
from imaging.subjects import repository as subjects_repository


def versions(session: Session, trial_id: str) -> list[ProtocolVersionRow]:
    return protocol_versions.versions(session, ProtocolVersionRow, trial_id)


def sites_received(session: Session) -> list[SiteRules]:
    """Every site of the versions received: the identifier systems a record is matched under."""
    return protocol_versions.sites_received(session, ProtocolVersionRow)


def schedule_of(rules: TrialRules) -> VisitSchedule:
    """The follow-up visits of a protocol version (ids, months, windows) as imaging uses them."""
    return VisitSchedule(
        follow_up=tuple(
            FollowUpVisit(
                code=visit.id,
                months_after_last_infusion=visit.months_after_last_infusion,
                window_days=visit.window.before_days,
                window_after_days=visit.window.after_days,
            )
            for visit in rules.visits.follow_up
        )
    )


def schedule_in_force(session: Session, trial_id: str, on: date | None) -> VisitSchedule | None:
    """The visit schedule of the version in force on site date ``on`` (None: the version
    activated last); None when no protocol version of the trial has arrived."""
    row = in_force_at(versions(session, trial_id), on or date.max)
    return None if row is None else schedule_of(protocol_versions.rules_of(row))


def walk_course_length_m(session: Session, trial_id: str, site_id: str, on: date) -> float:
    """The site's six-minute walk course in the version in force on site date ``on``; the ATS
    standard 30 m when no version has arrived or the site is not in it."""
    row = in_force_at(versions(session, trial_id), on)
    if row is None:
        return WALK_COURSE_LENGTH_M
    sites = protocol_versions.rules_of(row).sites
    # A version written before sites had ids has one site, the subjects' (LEGACY_SITE_ID).
    site = next((s for s in sites if s.id == site_id or (s.id is None and len(sites) == 1)), None)
    return WALK_COURSE_LENGTH_M if site is None else site.walk_course_length_m


def record(session: Session, event: ProtocolActivated) -> ProtocolVersionRow | None:
    """Store an activation; None when it had been received before (idempotent).

    The trial's subjects are locked first (the order every assessment writer locks in), so an
    assessment recorded meanwhile waits and is then placed with the new version."""
    subjects_repository.subjects_of_trial(session, event.trial_id, lock=True)
    return protocol_versions.store(session, ProtocolVersionRow, event)
