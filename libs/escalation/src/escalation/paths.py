"""Dose-transition pathways: the tree of decisions over the next cohorts' possible outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from escalation.design import Design
from escalation.history import recommend
from escalation.notation import Cohort, format_outcomes, parse_outcomes
from escalation.rules import Decision, patients_for_next_cohort


@dataclass(frozen=True)
class PathNode:
    """One possible history: the cohort that led to it, the decision there, and what may follow.

    ``cohort`` is None at the root. Children list the next cohort's outcomes from no DLT to all
    DLTs (order within a cohort does not matter to the rules; DLTs are written first, as in
    CASES.md §C). A node where the trial stops, or at the requested depth, has no children.
    """

    history: tuple[Cohort, ...]
    cohort: Cohort | None
    decision: Decision
    children: tuple[PathNode, ...]

    @property
    def outcomes(self) -> str:
        """The whole history at this node in outcome notation."""
        return format_outcomes(self.history)

    def walk(self) -> Iterator[PathNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def dose_paths(
    design: Design,
    outcomes: str | Sequence[Cohort],
    *,
    cohorts: int,
    strict: bool = True,
) -> PathNode:
    """Every decision the design can reach from ``outcomes`` in the next ``cohorts`` cohorts.

    If the cohort in progress is incomplete, the first step is its remaining patients.
    """
    if isinstance(cohorts, bool) or not isinstance(cohorts, int) or cohorts < 0:
        raise ValueError(f"cohorts must be a whole number of at least 0, not {cohorts!r}")
    history = parse_outcomes(outcomes) if isinstance(outcomes, str) else tuple(outcomes)
    return _node(design, history, None, cohorts, strict)


def _node(
    design: Design,
    history: tuple[Cohort, ...],
    cohort: Cohort | None,
    depth: int,
    strict: bool,
) -> PathNode:
    decision = recommend(design, history, strict=strict)
    children: tuple[PathNode, ...] = ()
    if depth > 0 and decision.continue_trial:
        assert decision.next_dose is not None
        dose = decision.next_dose
        size = patients_for_next_cohort(design, decision.tallies[dose - 1])
        children = tuple(
            _node(design, (*history, next_cohort), next_cohort, depth - 1, strict)
            for next_cohort in (
                Cohort(dose, (True,) * dlts + (False,) * (size - dlts)) for dlts in range(size + 1)
            )
        )
    return PathNode(history=history, cohort=cohort, decision=decision, children=children)
