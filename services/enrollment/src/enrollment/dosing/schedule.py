"""Infusion schedule and timing, weight validity, and the dose per infusion (pure rules).

Day 1 is the site calendar day of the first infusion; later infusions are planned on the
protocol's days (HDMSC-RP-01: 1, 4, 7, 10, each ±1 day) counted from it, whatever happened to
the infusions in between. Infusions are numbered in the order they are given: the n-th
administration is infusion n, and a late one is flagged, never renumbered or refused.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from doseline import sitetime
from doseline.contracts.enrollment import DeviationKind
from doseline.numbers import plain
from enrollment.protocol.config import (
    InfusionRules,
    Protocol,
    RedoseOnNewWeight,
    Site,
    WeightRules,
)
from escalation import DoseCalculation, weight_based_dose
from escalation.dosing import parse_weight


class TooManyInfusionsError(ValueError):
    """An administration beyond the protocol's infusion count."""


class InfusionOrderError(ValueError):
    """An administration that is not later than the ones already recorded."""


class WeightError(ValueError):
    """A body weight that may not be used for dosing."""


class Timing(StrEnum):
    """An administration against its planned day (PROTOCOL.md: window ±1 day)."""

    ON_TIME = "on-time"
    EARLY = "early"
    LATE = "late"
    OUTSIDE_WINDOW = "outside-window"


class InfusionState(StrEnum):
    GIVEN = "given"
    UPCOMING = "upcoming"
    DUE = "due"
    MISSED = "missed"


@dataclass(frozen=True)
class PlannedInfusion:
    """Infusion ``number`` planned on study day ``study_day``, with its window (inclusive)."""

    number: int
    study_day: int
    planned_on: date
    window_opens: date
    window_closes: date

    def contains(self, day: date) -> bool:
        return self.window_opens <= day <= self.window_closes


@dataclass(frozen=True)
class Departure:
    """What happened to one planned infusion, to be recorded as a deviation."""

    kind: DeviationKind
    planned: PlannedInfusion
    description: str
    occurred_at: datetime | None = None
    site_date: date | None = None
    infusion_id: uuid.UUID | None = None


@dataclass(frozen=True)
class InfusionSchedule:
    first_infusion_on: date
    infusions: tuple[PlannedInfusion, ...]

    def planned(self, number: int) -> PlannedInfusion:
        if not 1 <= number <= len(self.infusions):
            raise TooManyInfusionsError(
                f"the protocol plans {len(self.infusions)} infusions; there is no infusion {number}"
            )
        return self.infusions[number - 1]

    @property
    def last(self) -> PlannedInfusion:
        return self.infusions[-1]


study_day = sitetime.study_day


def infusion_schedule(rules: InfusionRules, first_infusion_on: date) -> InfusionSchedule:
    """The planned infusions, day 1 being ``first_infusion_on`` (a site calendar date)."""
    before = timedelta(days=rules.window.before_days)
    after = timedelta(days=rules.window.after_days)
    infusions = []
    for number, day in enumerate(rules.days, start=1):
        planned_on = sitetime.study_date(first_infusion_on, day)
        if number == 1:
            # The first infusion defines day 1, so it cannot be early or late.
            opens, closes = planned_on, planned_on
        else:
            opens, closes = planned_on - before, planned_on + after
        infusions.append(PlannedInfusion(number, day, planned_on, opens, closes))
    return InfusionSchedule(first_infusion_on=first_infusion_on, infusions=tuple(infusions))


@dataclass(frozen=True)
class AdministrationTiming:
    """Which infusion an administration is and how its site date compares with the plan."""

    infusion_number: int
    administered_on: date
    study_day: int
    planned: PlannedInfusion
    timing: Timing
    days_from_planned: int
    is_last: bool
    schedule: InfusionSchedule

    @property
    def is_deviation(self) -> bool:
        """Outside the window: recorded as given, and a protocol deviation to explain."""
        return self.timing is Timing.OUTSIDE_WINDOW


def classify_administration(
    rules: InfusionRules,
    site: Site,
    administered_at: datetime,
    previous_administrations: Sequence[datetime] = (),
) -> AdministrationTiming:
    """Number and timing of an administration given at ``administered_at``.

    ``previous_administrations`` are the instants of the infusions already recorded for the
    subject, oldest first. The first of them (or this one, if none) fixes day 1. Raises
    ``TooManyInfusionsError`` past the protocol's count, ``InfusionOrderError`` if the
    administration is not after the last one recorded, ``ValueError`` for a naive datetime.
    """
    administered_on = site.date_of(administered_at)
    previous_days = [site.date_of(moment) for moment in previous_administrations]
    number = len(previous_administrations) + 1
    if number > rules.count:
        raise TooManyInfusionsError(
            f"infusion {number} refused: the protocol plans {rules.count} infusions and"
            f" {len(previous_administrations)} are already recorded"
        )
    for earlier, later in itertools.pairwise(previous_administrations):
        if later <= earlier:
            raise InfusionOrderError(
                "the recorded administrations are not in time order"
                f" ({later.isoformat()} follows {earlier.isoformat()})"
            )
    if previous_administrations and administered_at <= previous_administrations[-1]:
        raise InfusionOrderError(
            f"infusion {number} at {administered_at.isoformat()} is not after infusion"
            f" {number - 1} at {previous_administrations[-1].isoformat()}"
        )
    schedule = infusion_schedule(rules, previous_days[0] if previous_days else administered_on)
    planned = schedule.planned(number)
    offset = (administered_on - planned.planned_on).days
    if offset == 0:
        timing = Timing.ON_TIME
    elif not planned.contains(administered_on):
        timing = Timing.OUTSIDE_WINDOW
    elif offset < 0:
        timing = Timing.EARLY
    else:
        timing = Timing.LATE
    return AdministrationTiming(
        infusion_number=number,
        administered_on=administered_on,
        study_day=study_day(schedule.first_infusion_on, administered_on),
        planned=planned,
        timing=timing,
        days_from_planned=offset,
        is_last=number == rules.count,
        schedule=schedule,
    )


def infusion_states(
    schedule: InfusionSchedule, administered: int, on: date
) -> tuple[tuple[PlannedInfusion, InfusionState], ...]:
    """Each planned infusion on site date ``on``, ``administered`` having been given.

    Missed: its window closed before ``on`` and it was not given; due: its window is open.
    """
    if not 0 <= administered <= len(schedule.infusions):
        raise ValueError(
            f"{administered} infusions given, but the schedule has {len(schedule.infusions)}"
        )
    states = []
    for planned in schedule.infusions:
        if planned.number <= administered:
            state = InfusionState.GIVEN
        elif planned.window_closes < on:
            state = InfusionState.MISSED
        elif planned.window_opens <= on:
            state = InfusionState.DUE
        else:
            state = InfusionState.UPCOMING
        states.append((planned, state))
    return tuple(states)


def missed_infusions(
    schedule: InfusionSchedule, administered: int, on: date
) -> tuple[PlannedInfusion, ...]:
    """Planned infusions whose window passed before ``on`` without a record."""
    return tuple(
        planned
        for planned, state in infusion_states(schedule, administered, on)
        if state is InfusionState.MISSED
    )


def validate_weight(
    rules: WeightRules,
    weight_kg: Decimal | str | int | float,
    *,
    measured_on: date,
    first_infusion_on: date,
) -> Decimal:
    """The weight in kg, if it may dose an infusion series starting on ``first_infusion_on``.

    PROTOCOL.md: measured no more than ``max_age_days`` (7) days before the first infusion; a
    weight taken after the first infusion cannot have set its dose. Raises ``WeightError``
    (or ``escalation.InvalidWeightError`` for something that is not a weight at all).
    """
    weight = parse_weight(weight_kg)
    plausible = rules.plausible_range_kg
    if not plausible.minimum <= weight <= plausible.maximum:
        raise WeightError(
            f"weight {weight} kg is outside the plausible range {plausible.minimum} to"
            f" {plausible.maximum} kg: check the value and that it is in kilograms"
        )
    if measured_on > first_infusion_on:
        raise WeightError(
            f"weight measured on {measured_on.isoformat()}, after the first infusion on"
            f" {first_infusion_on.isoformat()}: the dose needs a weight taken before it"
        )
    age = (first_infusion_on - measured_on).days
    if age > rules.max_age_days:
        raise WeightError(
            f"weight measured on {measured_on.isoformat()} is {age} days before the first"
            f" infusion on {first_infusion_on.isoformat()}; it may be at most"
            f" {rules.max_age_days} days old: weigh the subject again"
        )
    return weight


@dataclass(frozen=True)
class InfusionDose:
    """The cells to give at each infusion, and how they were computed.

    ``percent_of_dose`` below 100 is an investigator's reduction: ``per_kg`` and ``cells`` are
    the reduced dose, ``full_cells`` the whole dose of the level for the same weight.
    """

    dose_level: int
    per_kg: Decimal
    weight_kg: Decimal
    weight_capped: bool
    calculation: DoseCalculation
    full_cells: Decimal
    percent_of_dose: int = 100

    @property
    def cells(self) -> Decimal:
        return self.calculation.dose


def dose_per_infusion(
    protocol: Protocol,
    dose_level: int,
    weight_kg: Decimal | str | int | float,
    *,
    measured_on: date,
    first_infusion_on: date,
    percent_of_dose: int = 100,
) -> InfusionDose:
    """Per-kg dose of ``dose_level`` (× ``percent_of_dose`` / 100 under a reduction) × a valid
    weight, rounded as the protocol says. ``first_infusion_on`` is the day the weight doses
    (the first infusion, or the later infusion a weight measured again re-doses).

    With a weight cap, a heavier subject gets exactly the dose of a subject at the cap: the
    cap is applied as the rounded dose at the cap weight, through ``escalation``'s dose cap.
    """
    if isinstance(percent_of_dose, bool) or not 1 <= percent_of_dose <= 100:
        raise ValueError(f"percent_of_dose must be from 1 to 100, not {percent_of_dose!r}")
    weight = validate_weight(
        protocol.dosing.weight,
        weight_kg,
        measured_on=measured_on,
        first_infusion_on=first_infusion_on,
    )
    level = protocol.dose_escalation.level(dose_level)
    rounding = protocol.dosing.rounding.to_dose_rounding()
    cap_kg = protocol.dosing.weight_cap_kg

    def calculate(per_kg: Decimal) -> DoseCalculation:
        cap = None if cap_kg is None else weight_based_dose(per_kg, cap_kg, rounding=rounding).dose
        return weight_based_dose(per_kg, weight, rounding=rounding, cap=cap)

    per_kg = level.per_kg * percent_of_dose / 100
    full = calculate(level.per_kg)
    return InfusionDose(
        dose_level=level.level,
        per_kg=per_kg,
        weight_kg=weight,
        weight_capped=cap_kg is not None and weight > cap_kg,
        calculation=full if percent_of_dose == 100 else calculate(per_kg),
        full_cells=full.dose,
        percent_of_dose=percent_of_dose,
    )


@dataclass(frozen=True)
class WeightReading:
    """A body weight and the site day it was measured."""

    weight_kg: Decimal
    measured_on: date

    def __str__(self) -> str:
        return f"{plain(self.weight_kg)} kg of {self.measured_on.isoformat()}"


@dataclass(frozen=True)
class RedoseDecision:
    """Whether a weight measured again re-doses a later infusion, and the rule applied."""

    redose: bool
    basis: str


def redose_decision(
    rule: RedoseOnNewWeight | None, series: WeightReading, new: WeightReading
) -> RedoseDecision:
    """Whether ``new``, measured after the ``series`` weight (the one infusion 1 was dosed
    with), re-doses a later infusion under the protocol's ``dosing.redose_on_new_weight``.

    PROTOCOL.md default (no rule): one weight doses the whole series; ``new`` is recorded but
    never changes the dose. With a rule: re-dose when ``new`` differs from ``series`` by at
    least ``min_change_percent`` percent of ``series``.
    """
    if rule is None:
        return RedoseDecision(
            False,
            f"the series weight ({series}) doses every infusion: the protocol does not re-dose"
            f" on a weight measured again ({new})",
        )
    change = abs(new.weight_kg - series.weight_kg) / series.weight_kg * 100
    shown = f"{change.quantize(Decimal('0.1'))}%"
    if change >= rule.min_change_percent:
        return RedoseDecision(
            True,
            f"re-dosed on the weight measured again ({new}): it differs from the series weight"
            f" ({series}) by {shown}, at least the protocol's {plain(rule.min_change_percent)}%"
            " (dosing.redose_on_new_weight)",
        )
    return RedoseDecision(
        False,
        f"the series weight ({series}) doses: the weight measured again ({new}) differs from it"
        f" by {shown}, under the protocol's {plain(rule.min_change_percent)}%"
        " (dosing.redose_on_new_weight)",
    )
