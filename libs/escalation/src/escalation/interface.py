"""The interface every dose-finding design implements (A+B, BOIN, i3+3, mTPI-2, CRM).

A design decides from a `TrialState` alone: the per-level tallies, the level given last and, for
the designs that need it, the DLTs of the last cohort. That is what lets one replay, one pathway
builder, one exact operating-characteristics engine and one simulator serve every design.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from escalation.state import Decision, TrialState


class DoseFindingDesign(ABC):
    """A dose-finding design with a bounded sample size.

    ``kind`` names the design in documents and on the command line (the discriminator of a
    design document). Each design is an immutable value: equal parameters, equal design.
    """

    kind: ClassVar[str]
    # True when a trial that reaches `max_sample_size` patients always stops there with an MTD
    # that depends on the tallies alone (not on the level given last): the exact engine then
    # decides each such tally once. False promises nothing.
    ends_on_tallies: ClassVar[bool] = False
    num_doses: int
    start_dose: int
    cohort_size: int

    @abstractmethod
    def decide(self, state: TrialState) -> Decision:
        """The design's decision in ``state`` (the only place its rules live)."""

    @abstractmethod
    def next_cohort_size(self, state: TrialState, dose: int) -> int:
        """How many patients the next cohort at ``dose`` has (the rest of an incomplete one)."""

    @property
    @abstractmethod
    def max_sample_size(self) -> int:
        """The most patients a trial of this design can ever treat."""

    @abstractmethod
    def describe(self) -> str:
        """The design in a sentence or two, for people reading a protocol or a report."""

    @abstractmethod
    def to_document(self) -> dict[str, Any]:
        """Every parameter by name, with ``"design": kind`` (see `escalation.documents`)."""

    def step(self, state: TrialState) -> tuple[int | None, int | None]:
        """(next level, None) to go on, (None, MTD or None) to stop: `decide` without the words.

        The exact engine and the simulator need only this; designs whose explanation costs more
        than their rule compute it without the explanation.
        """
        decision = self.decide(state)
        return decision.next_dose, decision.mtd

    def final_mtd(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> int | None:
        """The MTD of a trial that has treated `max_sample_size` patients with these tallies.

        Asked only of designs that end on tallies (`ends_on_tallies`), for which the level
        given last changes nothing; designs override it when they can answer more directly.
        """
        last = max((level for level, count in enumerate(patients, 1) if count), default=None)
        dose, mtd = self.step(TrialState(patients, dlts, last, 0))
        if dose is not None:
            raise ValueError(
                f"the {self.kind} design goes on after {sum(patients)} patients: it does not end"
                " on its tallies"
            )
        return mtd

    def add_patients(self, state: TrialState, dose: int, patients: int, dlts: int) -> TrialState:
        """The state after ``patients`` more at ``dose``; designs that remember more override."""
        return state.with_patients(dose, patients, dlts)
