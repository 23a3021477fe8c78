"""What one intake request reads once and remembers: a Bundle holds hundreds of results of a few
subjects, so each fact is asked of the database once per request, not once per result.

Read up front: which (id, version) pairs the sender sent before, the proposals of every
Observation id in the request (locked, as the entries may change them), the subjects named by
study subject id. Read on first use and kept: the protocol rules in force on a day, a site's
reference range, a CTCAE term, the results a baseline is taken from (for every subject of the
request at once, per LOINC code). What this request stages is seen by its later entries as if
it were stored: a proposal created by version 1 is updated by version 2 of the same Bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from safety.catalogue import service as catalogue
from safety.catalogue.models import CtcaeTermRow
from safety.ehr import proposals, repository
from safety.ehr.matching import Matcher
from safety.ehr.models import ProposedAdverseEventRow
from safety.ehr.repository import EarlierResult
from safety.ehr.staging import Key, Staged
from safety.protocols import service as protocols
from safety.reference_ranges import service as reference_ranges
from safety.subjects.models import SubjectRow

_CLINICAL: Final = ("loinc", "value", "unit", "effective_on", "status")


@dataclass
class Intake:
    session: Session
    matcher: Matcher
    sender: str
    """The sending system (its token's subject): Observation ids are unique per sender only."""
    actor: str
    now: datetime
    received: dict[Key, str | None]
    """Pairs received before, with the content hash each was received with."""
    proposals: dict[str, ProposedAdverseEventRow]
    """By Observation id: those stored (locked) and those this request proposes."""
    concurrent: frozenset[Key] = frozenset()
    """Entries another request stored while this one was deciding (answered 409)."""
    seen: dict[Key, str] = field(default_factory=dict)
    staged: Staged = field(default_factory=Staged)
    terms: dict[str, CtcaeTermRow] = field(default_factory=dict)
    rules: dict[tuple[str, date], protocols.RulesInForce | None] = field(default_factory=dict)
    ranges: dict[tuple[Any, ...], reference_ranges.RangeLookup] = field(default_factory=dict)
    baselines: dict[tuple[str, str], list[EarlierResult]] = field(default_factory=dict)

    def rules_in_force(self, trial_id: str, day: date) -> protocols.RulesInForce | None:
        if (trial_id, day) not in self.rules:
            self.rules[trial_id, day] = protocols.rules_in_force(self.session, trial_id, day)
        return self.rules[trial_id, day]

    def site_range(self, **lookup: Any) -> reference_ranges.RangeLookup:
        key = tuple(sorted(lookup.items()))
        if key not in self.ranges:
            self.ranges[key] = reference_ranges.reference_range(self.session, **lookup)
        return self.ranges[key]

    def term(self, meddra_code: str) -> CtcaeTermRow:
        if meddra_code not in self.terms:
            self.terms[meddra_code] = catalogue.require_term(
                self.session, proposals.CTCAE_VERSION, meddra_code
            )
        return self.terms[meddra_code]

    def recorded(self, key: Key) -> dict[str, str] | None:
        """What was recorded under an id and version, stored or staged, in clinical terms."""
        row: Any = self.staged.staged_observation(key)
        if row is None:
            stored = repository.observation(self.session, self.sender, *key)
            if stored is None:
                return None
            row = {column: getattr(stored, column) for column in _CLINICAL}
        return {
            "loinc": row["loinc"],
            "value": str(row["value"]),
            "unit": row["unit"],
            "effective_on": row["effective_on"].isoformat(),
            "status": row["status"],
        }

    def earlier(self, subject: SubjectRow, loinc: str, *, other_than: str) -> list[EarlierResult]:
        """The subject's results of this test on or before the first infusion, latest first,
        stored or received earlier in this request (the baseline candidates)."""
        first = subject.first_infusion_on
        if first is None:
            return []
        if (subject.subject_id, loinc) not in self.baselines:
            self._read_baselines(subject, loinc)
        candidates = [
            row
            for row in (
                *self.baselines[subject.subject_id, loinc],
                *self.staged.earlier(subject.subject_id, loinc),
            )
            if row.effective_on <= first and row.observation_id != other_than
        ]
        return sorted(candidates, key=lambda row: (row.effective_on, row.received_at), reverse=True)

    def _read_baselines(self, subject: SubjectRow, loinc: str) -> None:
        """One query for every subject of the request not read yet for this test."""
        others = [
            known
            for known in self.matcher.known_subjects()
            if known.first_infusion_on is not None
            and (known.subject_id, loinc) not in self.baselines
        ]
        wanted = {subject.subject_id: subject, **{known.subject_id: known for known in others}}
        latest = max(known.first_infusion_on or date.min for known in wanted.values())
        rows = repository.pre_treatment_results(
            self.session, list(wanted), loinc, on_or_before=latest
        )
        for subject_id in wanted:
            self.baselines[subject_id, loinc] = []
        for row in rows:
            self.baselines[row.subject_id, loinc].append(row)
