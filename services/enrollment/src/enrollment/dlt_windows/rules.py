"""DLT observation window, DLT-evaluability and replacement of non-evaluable subjects (pure).

PROTOCOL.md defaults: the window runs from the first infusion (day 1) to day 30, both
included, and closes when the site's date is past its last day. A subject is DLT-evaluable
after receiving all 4 infusions and completing the window, or after a confirmed DLT; a
non-evaluable subject is replaced while enrolment is under the cap (15).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from doseline import sitetime
from doseline.contracts.protocol import DltWindowRules
from enrollment.protocol.config import Enrolment, EvaluabilityRules


@dataclass(frozen=True)
class DltWindow:
    """A subject's DLT window: ``start`` (day 1) to ``end`` (day ``days``), both included."""

    first_infusion_on: date
    start: date
    end: date
    days: int

    def study_day(self, day: date) -> int:
        """CDISC study day: day 1 is the first infusion, the day before it day -1."""
        return sitetime.study_day(self.first_infusion_on, day)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def is_closed(self, today: date) -> bool:
        """Closed once the site's date ``today`` is after the last day of the window."""
        return today > self.end


def dlt_window(rules: DltWindowRules, first_infusion_on: date) -> DltWindow:
    """The window of a subject whose first infusion was on site date ``first_infusion_on``."""
    return DltWindow(
        first_infusion_on=first_infusion_on,
        start=first_infusion_on,
        end=sitetime.study_date(first_infusion_on, rules.days),
        days=rules.days,
    )


class Evaluability(StrEnum):
    EVALUABLE = "evaluable"
    NOT_EVALUABLE = "not-evaluable"
    # Not decided yet: the window is open, or a suspected DLT awaits adjudication.
    PENDING = "pending"


@dataclass(frozen=True)
class EvaluabilityAssessment:
    status: Evaluability
    reason: str
    window: DltWindow

    @property
    def evaluable(self) -> bool:
        return self.status is Evaluability.EVALUABLE


def assess_evaluability(
    rules: EvaluabilityRules,
    window: DltWindow,
    *,
    infusions_received: int,
    confirmed_dlt: bool,
    today: date,
    withdrawn_on: date | None = None,
    suspected_dlt_pending: bool = False,
    short_infusions: Sequence[str] = (),
) -> EvaluabilityAssessment:
    """Whether a subject counts for the 3+3 rules, on site date ``today``.

    ``short_infusions`` describes each infusion the protocol requires in full
    (``full_dose_infusions``) that was given short of the level's whole dose: with any, the
    subject has not received the required infusions (docs/adr/0016).

    A subject withdrawn on or before the window's last day did not complete it. A subject who
    would be non-evaluable while a suspected DLT awaits adjudication stays pending, since a
    confirmation would make them evaluable (and must not be replaced meanwhile).
    """
    if isinstance(infusions_received, bool) or infusions_received < 0:
        raise ValueError(f"infusions_received must be 0 or more, not {infusions_received!r}")

    def result(status: Evaluability, reason: str) -> EvaluabilityAssessment:
        return EvaluabilityAssessment(status=status, reason=reason, window=window)

    if confirmed_dlt and rules.confirmed_dlt_makes_evaluable:
        return result(Evaluability.EVALUABLE, "had a confirmed DLT")
    received = f"received {infusions_received} of the {rules.required_infusions} required infusions"
    if short_infusions:
        received += f", but {'; '.join(short_infusions)}"
    all_received = infusions_received >= rules.required_infusions and not short_infusions
    withdrawn_early = withdrawn_on is not None and withdrawn_on <= window.end
    window_end = f"the DLT window ends on {window.end.isoformat()} (day {window.days})"
    if rules.requires_completed_window:
        if withdrawn_early:
            assert withdrawn_on is not None
            status, reason = (
                Evaluability.NOT_EVALUABLE,
                f"withdrawn on {withdrawn_on.isoformat()} (day {window.study_day(withdrawn_on)})"
                f" before completing the DLT window, {received}, no confirmed DLT",
            )
        elif not window.is_closed(today):
            return result(Evaluability.PENDING, f"{received}; {window_end}")
        elif all_received:
            return result(Evaluability.EVALUABLE, f"{received} and completed the DLT window")
        else:
            status, reason = (
                Evaluability.NOT_EVALUABLE,
                f"completed the DLT window but {received}, no confirmed DLT",
            )
    elif all_received:
        return result(Evaluability.EVALUABLE, received)
    elif withdrawn_early or window.is_closed(today):
        status, reason = Evaluability.NOT_EVALUABLE, f"{received}, no confirmed DLT"
    else:
        return result(Evaluability.PENDING, f"{received}; {window_end}")
    if suspected_dlt_pending:
        return result(
            Evaluability.PENDING,
            f"a suspected DLT awaits adjudication (otherwise not evaluable: {reason})",
        )
    return result(status, reason)


@dataclass(frozen=True)
class ReplacementDecision:
    replace: bool
    reason: str


def replacement(
    rules: EvaluabilityRules,
    enrolment: Enrolment,
    assessment: EvaluabilityAssessment,
    *,
    enrolled: int,
) -> ReplacementDecision:
    """Whether a subject is replaced: non-evaluable, the protocol replaces, and ``enrolled``
    (every subject enrolled so far, replacements included) is under the enrolment cap."""
    if isinstance(enrolled, bool) or not 0 <= enrolled <= enrolment.cap:
        raise ValueError(f"enrolled must be from 0 to the cap {enrolment.cap}, not {enrolled!r}")
    if assessment.status is not Evaluability.NOT_EVALUABLE:
        return ReplacementDecision(False, f"no replacement: the subject is {assessment.status}")
    if not rules.replace_non_evaluable:
        return ReplacementDecision(
            False, "no replacement: the protocol does not replace non-evaluable subjects"
        )
    if enrolled >= enrolment.cap:
        return ReplacementDecision(
            False,
            f"no replacement: enrolment has reached the cap ({enrolled} of {enrolment.cap})",
        )
    return ReplacementDecision(
        True,
        f"replace: not evaluable ({assessment.reason}); {enrolled} of {enrolment.cap} enrolled",
    )
