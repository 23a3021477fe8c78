"""Protocol deviations of the infusion schedule: recorded with the infusion that departs from
the plan (given outside its window, given short), and by a periodic job for an infusion whose
window closed with none given (missed). Each is audited and published once.

PROTOCOL.md: infusions on days 1, 4, 7 and 10, each ±1 day. A late infusion is recorded and
flagged, never refused; a missed one is a deviation of the day its window closed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.contracts.enrollment import ProtocolDeviationRecorded
from doseline.errors import NotFound
from enrollment.deviations import repository
from enrollment.deviations.models import ProtocolDeviation
from enrollment.dlt_windows.models import DltWindow
from enrollment.dose_orders import repository as dose_orders_repository
from enrollment.dosing import repository as dosing_repository
from enrollment.dosing.schedule import (
    Departure,
    infusion_schedule,
    missed_infusions,
)
from enrollment.protocol import Protocol
from enrollment.subjects import repository as subjects_repository
from enrollment.trials import repository as trials_repository
from enrollment.trials.protocols import protocol_of

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "missed-infusion job <system>"


def record_deviation(
    session: Session,
    *,
    trial_id: str,
    subject_id: str,
    site_id: str,
    departure: Departure,
    actor: str,
    now: datetime,
) -> ProtocolDeviation:
    """Store, audit and publish one deviation (the caller checked it is not recorded yet)."""
    planned = departure.planned
    row = ProtocolDeviation(
        subject_id=subject_id,
        trial_id=trial_id,
        kind=departure.kind,
        infusion_number=planned.number,
        planned_on=planned.planned_on,
        window_opens=planned.window_opens,
        window_closes=planned.window_closes,
        occurred_at=departure.occurred_at,
        site_date=departure.site_date,
        infusion_id=departure.infusion_id,
        description=departure.description,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protocol_deviation.record",
        entity_type="subject",
        entity_id=subject_id,
        after={
            "deviation_id": str(row.id),
            "kind": departure.kind,
            "infusion_number": planned.number,
            "planned_on": planned.planned_on,
            "window": [planned.window_opens, planned.window_closes],
            "occurred_at": departure.occurred_at,
            "description": departure.description,
        },
    )
    _publish(session, row, departure, site_id)
    return row


def _publish(session: Session, row: ProtocolDeviation, departure: Departure, site_id: str) -> None:
    outbox.record_event(
        session,
        ProtocolDeviationRecorded(
            trial_id=row.trial_id,
            subject_id=row.subject_id,
            site_id=site_id,
            deviation_id=str(row.id),
            kind=departure.kind,
            infusion_number=row.infusion_number,
            planned_on=row.planned_on,
            window_opens=row.window_opens,
            window_closes=row.window_closes,
            occurred_at=row.occurred_at,
            detail=row.description,
        ),
        subject=f"subjects/{row.subject_id}",
    )


def _missed(
    session: Session, protocol: Protocol, window: DltWindow, today: date
) -> list[Departure]:
    """The infusions of the subject whose window closed before ``today`` with none given and
    that no deviation records yet; none after a withdrawal or a permanent stop took effect."""
    schedule = infusion_schedule(protocol.infusions, window.starts_on)
    given = dosing_repository.given_count(session, window.subject_id)
    recorded = repository.recorded_kinds(session, window.subject_id)
    withdrawal = subjects_repository.withdrawal_of(session, window.subject_id)
    hold = dose_orders_repository.blocking_hold(session, window.subject_id)
    stopped_on = None
    if withdrawal is not None:
        stopped_on = withdrawal.effective_on
    if hold is not None and hold.status == "permanent" and hold.resolved_at is not None:
        permanent_on = protocol.site.date_of(hold.resolved_at)
        stopped_on = permanent_on if stopped_on is None else min(stopped_on, permanent_on)
    departures = []
    for planned in missed_infusions(schedule, given, today):
        if ("missed-infusion", planned.number) in recorded:
            continue
        if stopped_on is not None and planned.window_closes >= stopped_on:
            continue
        held = ""
        if hold is not None and hold.status == "active":
            held = (
                f"; the dose was held by {hold.ordered_by} on"
                f" {protocol.site.date_of(hold.ordered_at).isoformat()}: {hold.reason}"
            )
        departures.append(
            Departure(
                kind="missed-infusion",
                planned=planned,
                description=(
                    f"infusion {planned.number} planned on {planned.planned_on.isoformat()}"
                    f" (day {planned.study_day}), window {planned.window_opens.isoformat()} to"
                    f" {planned.window_closes.isoformat()}: none given{held}"
                ),
            )
        )
    return departures


def record_missed_infusions(session: Session, now: datetime) -> int:
    """Record every infusion whose window closed with none given; returns how many.

    The subjects concerned are locked, in id order, and their infusions counted again: an
    infusion being recorded for one of them meanwhile is either counted or waits for the job."""
    recorded = 0
    for trial in trials_repository.list_trials(session):
        protocol = protocol_of(session, trial)
        today = protocol.site.date_of(now)
        due = [
            window
            for window in repository.treated_windows(session, trial.id)
            if _missed(session, protocol, window, today)
        ]
        for window in due:
            subjects_repository.get_subject(session, window.subject_id, for_update=True)
        for window in due:
            site_id = subjects_repository.site_of_registered_subject(session, window.subject_id)
            departures = _missed(session, protocol, window, today)
            for departure in departures:
                record_deviation(
                    session,
                    trial_id=trial.id,
                    subject_id=window.subject_id,
                    site_id=site_id,
                    departure=departure,
                    actor=SYSTEM_ACTOR,
                    now=now,
                )
            recorded += len(departures)
            log.info("infusions.missed", subject_id=window.subject_id, count=len(departures))
    return recorded


def deviations_of(
    session: Session, subject_id: str, *, after: tuple[Any, ...] | None, limit: int
) -> list[ProtocolDeviation]:
    if subjects_repository.get_subject(session, subject_id) is None:
        raise NotFound(f"no subject {subject_id}")
    return repository.deviations_of(session, subject_id, after=after, limit=limit)
