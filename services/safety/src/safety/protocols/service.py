"""Protocol versions received from enrollment, and the rules in force at a date.

Enrollment publishes ``enrollment.protocol.activated`` whenever a protocol version comes into
force (trial created, protocol amended). Safety stores each activation once (a redelivery or a
duplicate changes nothing) and, whatever order they arrive in, applies to an adverse event the
version in force at its onset date: of the versions effective on or before that site date, the
one activated last (``doseline.contracts.protocol.in_force_at``). Safety has no DLT rules of its
own: until a trial's protocol has arrived, its adverse events wait (``awaiting_protocol``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from doseline import protocol_versions
from doseline.auth import Principal
from doseline.contracts.protocol import ProtocolActivated, TrialRules, in_force_at
from doseline.errors import NotFound
from safety.problems import PROTOCOL_NOT_RECEIVED
from safety.protocols import repository
from safety.protocols.models import DltReviewRow, ProtocolVersionRow
from safety.subjects import repository as subjects_repository


@dataclass(frozen=True)
class RulesInForce:
    """A protocol version's rules, with what every assessment records about it."""

    sequence: int
    protocol_version: str
    content_hash: str
    rules: TrialRules

    @property
    def label(self) -> str:
        return f"protocol {self.protocol_version} ({self.content_hash[:19]}…)"


def rules_of(row: ProtocolVersionRow) -> RulesInForce:
    return RulesInForce(
        sequence=row.sequence,
        protocol_version=row.protocol_version,
        content_hash=row.content_hash,
        rules=protocol_versions.rules_of(row),
    )


# The rules of each distinct content, parsed once per process: a version's rules never change,
# and an assessment otherwise loaded and re-read every version's rules on every AE.
_PARSED_RULES: dict[str, TrialRules] = {}
_PARSED_RULES_KEPT = 64


def rules_in_force(session: Session, trial_id: str, day: date) -> RulesInForce | None:
    """The rules that govern facts of site date ``day`` in the trial (None: none received)."""
    repository.share_trial(session, trial_id)
    brief = in_force_at(repository.versions_in_brief(session, trial_id), day)
    if brief is None:
        return None
    rules = _PARSED_RULES.get(brief.rules_sha256)
    if rules is None:
        rules = protocol_versions.rules_of(repository.version(session, trial_id, brief.sequence))
        if len(_PARSED_RULES) >= _PARSED_RULES_KEPT:
            _PARSED_RULES.clear()
        _PARSED_RULES[brief.rules_sha256] = rules
    return RulesInForce(
        sequence=brief.sequence,
        protocol_version=brief.protocol_version,
        content_hash=brief.content_hash,
        rules=rules,
    )


def record(session: Session, event: ProtocolActivated) -> ProtocolVersionRow | None:
    """Store an activation; None when it had been received before (idempotent).

    Lock order, as every writer of AEs: the trial's subjects, then the trial's versions."""
    subjects_repository.lock_subjects_of_trial(session, event.trial_id)
    repository.lock_trial(session, event.trial_id)
    return protocol_versions.store(session, ProtocolVersionRow, event)


def received_versions(session: Session, trial_id: str) -> list[ProtocolVersionRow]:
    """Every protocol version of the trial that reached safety; 404 before the first one."""
    rows = repository.versions(session, trial_id)
    if not rows:
        raise NotFound(
            f"no protocol version of trial {trial_id} has reached safety; its DLT rules arrive "
            "with enrollment's enrollment.protocol.activated event",
            problem=PROTOCOL_NOT_RECEIVED,
        )
    return rows


def reviews(session: Session, trial_id: str, principal: Principal) -> Sequence[DltReviewRow]:
    """The DLTs an amendment asks to review, of subjects at the caller's sites."""
    return repository.reviews(session, trial_id=trial_id, principal=principal)
