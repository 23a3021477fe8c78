"""The phase I outcome-string notation (`1NNN 2NTN`; Brock 2019): parse and format cohorts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_DIGITS = frozenset("0123456789")
# Far above any design's number of levels, and far below int()'s own digit limit.
_MAX_DOSE_DIGITS = 9
_OUTCOME_LETTERS = {"N": False, "T": True}


class OutcomeParseError(ValueError):
    """An outcome string that does not follow the grammar; ``position`` is the 0-based index."""

    def __init__(self, problem: str, text: str, position: int) -> None:
        super().__init__(f"{problem} (position {position} in {text!r})")
        self.problem = problem
        self.text = text
        self.position = position


@dataclass(frozen=True)
class Cohort:
    """Patients written together at one dose level, in order; True means a DLT."""

    dose: int
    outcomes: tuple[bool, ...]

    def __post_init__(self) -> None:
        if isinstance(self.dose, bool) or not isinstance(self.dose, int) or self.dose < 1:
            raise ValueError(
                f"a cohort's dose level must be a positive whole number, not {self.dose!r}"
            )
        if not self.outcomes:
            raise ValueError(f"a cohort at level {self.dose} must have at least one patient")
        if not all(isinstance(outcome, bool) for outcome in self.outcomes):
            raise ValueError(
                f"cohort outcomes must be True (DLT) or False (no DLT): {self.outcomes!r}"
            )

    @property
    def dlts(self) -> int:
        """Number of patients with a DLT."""
        return sum(self.outcomes)


def parse_outcomes(text: str) -> tuple[Cohort, ...]:
    """Read cohorts from an outcome string such as ``"1NNN 2NTN"``.

    Grammar (CASES.md, R-parse): cohorts are a positive whole dose level followed by one or more
    of ``N`` (no DLT) and ``T`` (DLT); whitespace between cohorts is optional (``1N2T`` is two
    cohorts), and leading and trailing whitespace is allowed. The empty string means no patients.
    """
    cohorts: list[Cohort] = []
    position = 0
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position == length:
            return tuple(cohorts)
        cohort, position = _read_cohort(text, position)
        cohorts.append(cohort)


def _read_cohort(text: str, start: int) -> tuple[Cohort, int]:
    position = start
    while position < len(text) and text[position] in _DIGITS:
        position += 1
    if position == start:
        raise OutcomeParseError(
            f"expected a dose level (a positive whole number) at the start of a cohort,"
            f" found {text[start]!r}",
            text,
            start,
        )
    if position - start > _MAX_DOSE_DIGITS:
        raise OutcomeParseError(
            f"dose level {text[start:position]} has more than {_MAX_DOSE_DIGITS} digits",
            text,
            start,
        )
    dose = int(text[start:position])
    if dose == 0:
        raise OutcomeParseError(
            "dose levels must be strictly positive integers, found 0", text, start
        )
    if position < len(text) and text[position] == ".":
        # R-parse: a dotted dose (`2.0T`) names a dose combination; single-agent designs reject it.
        raise OutcomeParseError(
            f"dose level {text[start:position]}. is not a whole number (dotted doses are for"
            " drug combinations, not a single-agent design)",
            text,
            position,
        )
    outcomes: list[bool] = []
    while position < len(text) and text[position] in _OUTCOME_LETTERS:
        outcomes.append(_OUTCOME_LETTERS[text[position]])
        position += 1
    if position < len(text) and not (text[position].isspace() or text[position] in _DIGITS):
        raise OutcomeParseError(
            f"unexpected {text[position]!r} in the cohort at level {dose}: outcomes are"
            " upper-case N (no DLT) or T (DLT)",
            text,
            position,
        )
    if not outcomes:
        raise OutcomeParseError(
            f"dose level {dose} has no outcomes: write N (no DLT) or T (DLT) for each patient",
            text,
            position,
        )
    return Cohort(dose=dose, outcomes=tuple(outcomes)), position


def format_outcomes(cohorts: Sequence[Cohort]) -> str:
    """Write cohorts in the outcome notation, one space between cohorts."""
    return " ".join(
        f"{cohort.dose}{''.join('T' if dlt else 'N' for dlt in cohort.outcomes)}"
        for cohort in cohorts
    )
