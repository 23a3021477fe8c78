"""What every design decides from and what it answers: trial state, tallies and decisions."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class InvalidHistoryError(ValueError):
    """A trial history the design cannot produce (strict mode), or one no rule applies to."""


class DoseTally(NamedTuple):
    """Patients treated and DLTs seen at one dose level."""

    dose: int
    patients: int
    dlts: int


class TrialState(NamedTuple):
    """Everything a design looks at: the tally of every level and the level given last.

    ``patients`` and ``dlts`` hold one count per level (index = level - 1). ``cohort_dlts`` is
    for designs whose next step depends on the last cohort as well as on the tallies (the CRM's
    coherence restriction); the others leave it at 0, so that states differing only in how they
    were reached stay one state. A named tuple: the exact engine and the simulator hash and
    compare millions of states, which tuples do in C.
    """

    patients: tuple[int, ...]
    dlts: tuple[int, ...]
    current_dose: int | None = None
    cohort_dlts: int = 0

    @classmethod
    def empty(cls, num_doses: int) -> TrialState:
        return cls((0,) * num_doses, (0,) * num_doses)

    def tally(self, dose: int) -> DoseTally:
        return DoseTally(dose, self.patients[dose - 1], self.dlts[dose - 1])

    @property
    def tallies(self) -> tuple[DoseTally, ...]:
        return _tallies(self.patients, self.dlts)

    @property
    def total_patients(self) -> int:
        return sum(self.patients)

    def with_patients(
        self, dose: int, patients: int, dlts: int, *, cohort_dlts: int = 0
    ) -> TrialState:
        """The state after ``patients`` more patients at ``dose``, ``dlts`` of them with a DLT."""
        index = dose - 1
        return TrialState(
            (*self.patients[:index], self.patients[index] + patients, *self.patients[dose:]),
            (*self.dlts[:index], self.dlts[index] + dlts, *self.dlts[dose:]),
            dose,
            cohort_dlts,
        )


# Every decision carries its tallies; states met again (in an enumeration, a simulation or a
# pathway tree) share them instead of building them again.
@lru_cache(maxsize=1 << 16)
def _tallies(patients: tuple[int, ...], dlts: tuple[int, ...]) -> tuple[DoseTally, ...]:
    return tuple(
        DoseTally(dose, count, toxic)
        for dose, (count, toxic) in enumerate(zip(patients, dlts, strict=True), 1)
    )


class Decision(NamedTuple):
    """What the design says now.

    While ``continue_trial`` is true, ``next_dose`` is the level for the next patients and ``mtd``
    is None. Once stopped, ``next_dose`` is None and ``mtd`` is the declared maximum tolerated
    dose, or None when no level is. ``cohort_complete`` is false while the cohort in progress
    still awaits outcomes (the trial then stays at its level). ``state`` is what it was decided
    on; ``tallies`` reads it per level.
    """

    continue_trial: bool
    next_dose: int | None
    mtd: int | None
    reason: str
    state: TrialState
    warnings: tuple[str, ...]
    cohort_complete: bool

    @property
    def tallies(self) -> tuple[DoseTally, ...]:
        """The tally of every level the decision was made on."""
        return self.state.tallies


def treat(state: TrialState, dose: int, reason: str) -> Decision:
    """The decision to give the next cohort ``dose``."""
    return Decision(
        continue_trial=True,
        next_dose=dose,
        mtd=None,
        reason=reason,
        state=state,
        warnings=(),
        cohort_complete=True,
    )


def stop(state: TrialState, mtd: int | None, reason: str) -> Decision:
    """The decision to end the trial, declaring ``mtd`` (None: no level is the MTD)."""
    verdict = "no level is the MTD" if mtd is None else f"level {mtd} is the MTD"
    return Decision(
        continue_trial=False,
        next_dose=None,
        mtd=mtd,
        reason=f"{reason}; {verdict}",
        state=state,
        warnings=(),
        cohort_complete=True,
    )


def wait_for_cohort(state: TrialState, dose: int, reason: str) -> Decision:
    """The decision to finish the cohort in progress at ``dose`` before deciding anything."""
    return Decision(
        continue_trial=True,
        next_dose=dose,
        mtd=None,
        reason=reason,
        state=state,
        warnings=(),
        cohort_complete=False,
    )


def count_dlts(count: int) -> str:
    """``"1 DLT"``, ``"2 DLTs"``: the count in words for reasons."""
    return f"{count} DLT" if count == 1 else f"{count} DLTs"
