"""The writes of one intake request, gathered while its entries are decided and stored together.

Every entry is decided in memory first (what it is, whom it is about, its grade), its rows staged
here; then one statement per kind of row stores them all: the received results, the new
proposals, the events announcing them (doseline.outbox), the conflicts kept for review, and the
audit entries in the order the entries were decided, chained with the delivery's own entry
last. A refused entry stages nothing (`mark`, `undo`). A result or proposal another request
stored first is found by the insert itself (ON CONFLICT DO NOTHING): `store` names those
entries, and the intake decides again without them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.events import EventContract
from safety.ehr import repository
from safety.ehr.models import LabIntakeConflictRow, ProposedAdverseEventRow
from safety.ehr.repository import GRADED_STATUSES, EarlierResult

Key = tuple[str, str]
"""An Observation id and version."""


@dataclass(frozen=True)
class AuditNote:
    """An audit entry of the request, recorded (doseline.audit) once its rows are stored."""

    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str | None = None

    def record(self, session: Session) -> None:
        audit.record(
            session,
            actor=self.actor,
            action=self.action,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            before=self.before,
            after=self.after,
            reason=self.reason,
        )


@dataclass(frozen=True)
class Mark:
    observations: int
    proposals: int
    conflicts: int
    audit: int


Row = dict[str, Any]
"""A received result to store: its lab_observations columns."""


@dataclass
class Staged:
    observations: list[Row] = field(default_factory=list)
    proposals: list[ProposedAdverseEventRow] = field(default_factory=list)
    """New proposals; changes to stored ones are the session's (flushed with these)."""
    proposed_by: dict[uuid.UUID, Key] = field(default_factory=dict)
    announcements: list[tuple[EventContract, str]] = field(default_factory=list)
    """One event per new proposal, in the same order, with its CloudEvents subject."""
    conflicts: list[LabIntakeConflictRow] = field(default_factory=list)
    audit: list[tuple[AuditNote, uuid.UUID | None]] = field(default_factory=list)
    """In order; an entry with a conflict's id is written only if that conflict is new."""
    _by_key: dict[Key, Row] = field(default_factory=dict)
    _by_test: dict[tuple[str, str], list[Row]] = field(default_factory=dict)

    def mark(self) -> Mark:
        return Mark(
            len(self.observations), len(self.proposals), len(self.conflicts), len(self.audit)
        )

    def undo(self, mark: Mark) -> None:
        """Forget what an entry staged after `mark`: a refused entry leaves nothing behind."""
        for row in reversed(self.observations[mark.observations :]):
            self._by_key.pop((row["observation_id"], row["version_id"]), None)
            self._by_test[row["subject_id"], row["loinc"]].pop()
        for proposal in self.proposals[mark.proposals :]:
            self.proposed_by.pop(proposal.id, None)
        del self.observations[mark.observations :]
        del self.proposals[mark.proposals :]
        del self.announcements[mark.proposals :]
        del self.conflicts[mark.conflicts :]
        del self.audit[mark.audit :]

    def observation(self, row: Row) -> None:
        self.observations.append(row)
        self._by_key[row["observation_id"], row["version_id"]] = row
        self._by_test.setdefault((row["subject_id"], row["loinc"]), []).append(row)

    def staged_observation(self, key: Key) -> Row | None:
        return self._by_key.get(key)

    def proposal(
        self,
        row: ProposedAdverseEventRow,
        entry: AuditNote,
        announcement: tuple[EventContract, str],
    ) -> None:
        self.proposals.append(row)
        self.announcements.append(announcement)
        self.proposed_by[row.id] = (row.observation_id, row.observation_version_id)
        self.audit.append((entry, None))

    def conflict(self, row: LabIntakeConflictRow, entry: AuditNote) -> None:
        self.conflicts.append(row)
        self.audit.append((entry, row.id))

    def audited(self, entry: AuditNote) -> None:
        self.audit.append((entry, None))

    def earlier(self, subject_id: str, loinc: str) -> list[EarlierResult]:
        """Results of this request a later one may take its baseline from."""
        return [
            EarlierResult(
                observation_id=row["observation_id"],
                subject_id=row["subject_id"],
                status=row["status"],
                value=row["value"],
                unit=row["unit"],
                effective_on=row["effective_on"],
                received_at=row["received_at"],
            )
            for row in self._by_test.get((subject_id, loinc), [])
            if row["status"] in GRADED_STATUSES
        ]


def store(session: Session, staged: Staged) -> set[Key]:
    """Insert the staged rows; the entries another request stored first (nothing is kept of
    them; the caller rolls back and decides again), or none."""
    stored = repository.insert_observations(session, staged.observations)
    lost = {(row["observation_id"], row["version_id"]) for row in staged.observations} - stored
    if lost:
        return lost
    created = repository.insert_proposals(session, staged.proposals)
    lost = {key for pid, key in staged.proposed_by.items() if pid not in created}
    if lost:
        return lost
    session.flush()
    return set()


def announce(session: Session, staged: Staged) -> None:
    """The new proposals' events, in the outbox with one statement (after `store` stored them
    all: nothing is announced that another request stored first)."""
    outbox.record_events(session, staged.announcements)


def audit_entries(session: Session, staged: Staged) -> list[AuditNote]:
    """Store the conflicts kept for review; the audit entries to write, in order (a conflict
    flagged before is not audited again)."""
    flagged = repository.insert_conflicts(session, staged.conflicts)
    return [entry for entry, conflict in staged.audit if conflict is None or conflict in flagged]
