"""A trial's visit schedule and reference equations: registered by an admin, seeded by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit
from doseline.errors import InvalidInput, NotFound
from doseline.etags import check_if_match
from imaging.pft.reference import Gli2012Ethnicity, ReferenceEquation
from imaging.protocols import service as protocols
from imaging.schedule import repository
from imaging.schedule.models import TrialSettingsRow
from imaging.schedule.schemas import VisitScheduleIn
from imaging.schedule.visits import (
    HDMSC_RP_01_SCHEDULE,
    FollowUpVisit,
    VisitSchedule,
    VisitScheduleError,
)
from imaging.walk.reference import WalkEquation

DEFAULT_TRIAL = "HDMSC-RP-01"


@dataclass(frozen=True)
class ReferenceChoice:
    """The equations a trial compares its lung function and walk distances with."""

    spirometry_equation: ReferenceEquation = ReferenceEquation.GLI_GLOBAL_2022
    gli_2012_ethnicity: Gli2012Ethnicity | None = None
    walk_equation: WalkEquation = WalkEquation.ENRIGHT_SHERRILL_1998


def schedule_of(row: TrialSettingsRow) -> VisitSchedule:
    return VisitSchedule(
        follow_up=tuple(
            FollowUpVisit(
                code=str(item["code"]),
                months_after_last_infusion=int(item["months_after_last_infusion"]),
                window_days=int(item["window_days"]),
            )
            for item in row.visit_schedule
        )
    )


def references_of(row: TrialSettingsRow | None) -> ReferenceChoice:
    if row is None:
        return ReferenceChoice()
    return ReferenceChoice(
        spirometry_equation=ReferenceEquation(row.spirometry_equation),
        gli_2012_ethnicity=(
            None if row.gli_2012_ethnicity is None else Gli2012Ethnicity[row.gli_2012_ethnicity]
        ),
        walk_equation=WalkEquation(row.walk_equation),
    )


def schedule_for(session: Session, trial_id: str, on: date | None = None) -> VisitSchedule | None:
    """The visit schedule that places an assessment done on site date ``on`` (None: now).

    The protocol version in force on that date, as enrollment published it, when any has
    arrived; otherwise the schedule registered for the trial through this service's API."""
    from_protocol = protocols.schedule_in_force(session, trial_id, on)
    if from_protocol is not None:
        return from_protocol
    row = repository.trial_settings(session, trial_id)
    return None if row is None else schedule_of(row)


def _schedule_json(schedule: VisitSchedule) -> list[dict[str, Any]]:
    return [
        {
            "code": visit.code,
            "months_after_last_infusion": visit.months_after_last_infusion,
            "window_days": visit.window_days,
        }
        for visit in schedule.follow_up
    ]


def snapshot(row: TrialSettingsRow) -> dict[str, Any]:
    return {
        "visit_schedule": row.visit_schedule,
        "spirometry_equation": row.spirometry_equation,
        "gli_2012_ethnicity": row.gli_2012_ethnicity,
        "walk_equation": row.walk_equation,
    }


def validated_schedule(visits: list[FollowUpVisit]) -> VisitSchedule:
    try:
        return VisitSchedule(follow_up=tuple(visits))
    except VisitScheduleError as error:
        raise InvalidInput.at(["body", "follow_up"], str(error)) from None


def check_reference_choice(choice: ReferenceChoice) -> None:
    if choice.spirometry_equation is ReferenceEquation.GLI_2017_TRANSFER_FACTOR:
        raise InvalidInput.at(
            ["body", "spirometry_equation"],
            "GLI-2017 is the transfer factor equation; choose GLI Global 2022 or GLI-2012",
        )
    needs_ethnicity = choice.spirometry_equation is ReferenceEquation.GLI_2012
    if needs_ethnicity and choice.gli_2012_ethnicity is None:
        raise InvalidInput.at(["body", "gli_2012_ethnicity"], "GLI-2012 needs an ethnic group")
    if not needs_ethnicity and choice.gli_2012_ethnicity is not None:
        raise InvalidInput.at(
            ["body", "gli_2012_ethnicity"], "an ethnic group applies to GLI-2012 only"
        )


def register(
    session: Session,
    *,
    trial_id: str,
    schedule: VisitSchedule,
    references: ReferenceChoice,
    actor: str,
    reason: str | None,
    existing: TrialSettingsRow | None,
) -> TrialSettingsRow:
    """Create or replace the trial's settings (the caller checked If-Match on `existing`)."""
    check_reference_choice(references)
    values = {
        "visit_schedule": _schedule_json(schedule),
        "spirometry_equation": references.spirometry_equation.value,
        "gli_2012_ethnicity": (
            None if references.gli_2012_ethnicity is None else references.gli_2012_ethnicity.name
        ),
        "walk_equation": references.walk_equation.value,
    }
    if existing is None:
        row = TrialSettingsRow(trial_id=trial_id, **values)
        session.add(row)
        before = None
    else:
        if reason is None:
            raise InvalidInput.at(
                ["body", "reason"], "the trial's settings exist; give the reason for the change"
            )
        row = existing
        before = snapshot(row)
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="trial_settings.register" if existing is None else "trial_settings.change",
        entity_type="trial_settings",
        entity_id=trial_id,
        before=before,
        after=snapshot(row),
        reason=reason,
    )
    return row


def put(
    session: Session, trial_id: str, body: VisitScheduleIn, *, if_match: str | None, actor: str
) -> TrialSettingsRow:
    """Register the trial's schedule and equations, or change them (If-Match and a reason)."""
    repository.lock_trial(session, trial_id)
    existing = repository.trial_settings(session, trial_id, lock=True)
    if existing is not None:
        check_if_match(if_match, current_version=existing.version)
    schedule = validated_schedule(
        [FollowUpVisit(v.code, v.months_after_last_infusion, v.window_days) for v in body.follow_up]
    )
    references = ReferenceChoice(
        spirometry_equation=ReferenceEquation(body.spirometry_equation),
        gli_2012_ethnicity=(
            None if body.gli_2012_ethnicity is None else Gli2012Ethnicity[body.gli_2012_ethnicity]
        ),
        walk_equation=WalkEquation(body.walk_equation),
    )
    return register(
        session,
        trial_id=trial_id,
        schedule=schedule,
        references=references,
        actor=actor,
        reason=body.reason,
        existing=existing,
    )


def references_for(session: Session, trial_id: str) -> ReferenceChoice:
    """The reference equations the trial chose (the defaults before it registered any)."""
    return references_of(repository.trial_settings(session, trial_id))


def require(session: Session, trial_id: str) -> TrialSettingsRow:
    row = repository.trial_settings(session, trial_id)
    if row is None:
        raise NotFound(f"trial {trial_id!r} has no visit schedule registered")
    return row


def seed_default(session: Session, *, actor: str) -> str:
    """HDMSC-RP-01's protocol defaults, registered once; later changes are an admin's."""
    if repository.trial_settings(session, DEFAULT_TRIAL) is not None:
        return f"{DEFAULT_TRIAL} visit schedule already registered"
    register(
        session,
        trial_id=DEFAULT_TRIAL,
        schedule=HDMSC_RP_01_SCHEDULE,
        references=ReferenceChoice(),
        actor=actor,
        reason=None,
        existing=None,
    )
    return f"{DEFAULT_TRIAL} visit schedule registered (1, 2, 3 months ±7 d; 6, 12 months ±14 d)"
