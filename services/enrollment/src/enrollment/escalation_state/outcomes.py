"""The escalation outcome string derived from stored facts, and the hash of a signed state.

Design notes (issue 4): per subject in enrolment order, dose level, DLT (a confirmed DLT per
the latest adjudication) and whether the subject is complete (window closed and evaluable, or
had a DLT). Non-evaluable subjects are excluded (and replaced). Only complete cohorts enter the
string: `escalation.recommend` must never see a cohort whose outcomes may still change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from doseline.audit import canonical_json
from escalation import Decision

DecisionOutcome = Literal["escalate", "stay", "de-escalate", "stop"]


@dataclass(frozen=True)
class SubjectOutcome:
    """What the escalation rules need to know of one enrolled subject."""

    subject_id: str
    sequence: int
    dose_level: int
    dlt: bool
    window_closed: bool
    evaluable: bool | None
    # A suspected DLT not yet adjudicated holds the subject, even after the window closed:
    # the cohort must not be judged on a DLT that may still be confirmed.
    dlt_pending: bool = False
    # Withdrawn before the first infusion: no DLT window will ever open.
    withdrawn_untreated: bool = False

    @property
    def excluded(self) -> bool:
        """Non-evaluable (window closed without all infusions and without a DLT, or withdrawn
        before the first infusion): replaced."""
        if self.withdrawn_untreated and not self.dlt and not self.dlt_pending:
            return True
        return (
            not self.dlt and not self.dlt_pending and self.window_closed and self.evaluable is False
        )

    @property
    def complete(self) -> bool:
        """PROTOCOL.md: evaluable = completed the window (with all infusions), or had a DLT."""
        if self.dlt:
            return True
        return not self.dlt_pending and self.window_closed and self.evaluable is True


@dataclass(frozen=True)
class CohortOutcomes:
    number: int
    dose_level: int
    planned_size: int
    subjects: tuple[SubjectOutcome, ...]

    @property
    def counted(self) -> tuple[SubjectOutcome, ...]:
        """The subjects that count for the rules, in enrolment order (excluded ones left out)."""
        return tuple(sorted((s for s in self.subjects if not s.excluded), key=lambda s: s.sequence))

    @property
    def complete(self) -> bool:
        counted = self.counted
        return len(counted) == self.planned_size and all(s.complete for s in counted)

    @property
    def notation(self) -> str:
        return f"{self.dose_level}" + "".join("T" if s.dlt else "N" for s in self.counted)


@dataclass(frozen=True)
class DerivedOutcomes:
    outcomes: str
    complete_cohorts: int


def derive_outcomes(cohorts: Sequence[CohortOutcomes]) -> DerivedOutcomes:
    """The outcome string of the complete cohorts, in cohort order, up to the first incomplete."""
    parts: list[str] = []
    for cohort in sorted(cohorts, key=lambda c: c.number):
        if not cohort.complete:
            break
        parts.append(cohort.notation)
    return DerivedOutcomes(outcomes=" ".join(parts), complete_cohorts=len(parts))


def decision_outcome(decision: Decision, *, current_dose: int) -> DecisionOutcome:
    """How the recommendation moves the trial relative to the dose of the cohort just decided."""
    if not decision.continue_trial or decision.next_dose is None:
        return "stop"
    if decision.next_dose > current_dose:
        return "escalate"
    if decision.next_dose < current_dose:
        return "de-escalate"
    return "stay"


def state_document(
    *,
    trial_id: str,
    outcomes: str,
    complete_cohorts: int,
    continue_trial: bool,
    next_dose: int | None,
    mtd: int | None,
    reason: str,
    protocol_version: str,
    protocol_hash: str,
    late_dlt_resolutions: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The state a signature is bound to (21 CFR 11.70): everything the decision rests on.

    The resolved late DLTs the history rests on (ADR 0017) are part of it once there are any."""
    document: dict[str, Any] = {
        "trial_id": trial_id,
        "outcomes": outcomes,
        "complete_cohorts": complete_cohorts,
        "continue_trial": continue_trial,
        "next_dose": next_dose,
        "mtd": mtd,
        "reason": reason,
        "protocol_version": protocol_version,
        "protocol_hash": protocol_hash,
    }
    if late_dlt_resolutions:
        document["late_dlt_resolutions"] = list(late_dlt_resolutions)
    return document


def state_hash(document: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the state."""
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
