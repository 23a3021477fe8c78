"""Dose-transition pathways: the tree of decisions over the next cohorts' possible outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from escalation.history import recommend, replay
from escalation.interface import DoseFindingDesign
from escalation.limits import DEFAULT_MAX_PATH_NODES, MAX_COHORTS, require_whole_number
from escalation.notation import Cohort, format_outcomes, parse_outcomes
from escalation.state import Decision, TrialState


class PathBudgetError(ValueError):
    """A pathway tree with more nodes than its budget allows."""

    def __init__(self, nodes: int, budget: int) -> None:
        super().__init__(
            f"the dose-transition pathways would have {nodes:,} nodes, over the budget of"
            f" {budget:,}: ask for fewer cohorts ahead, or raise the node budget"
        )
        self.nodes = nodes
        self.budget = budget


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
    design: DoseFindingDesign,
    outcomes: str | Sequence[Cohort],
    *,
    cohorts: int,
    strict: bool = True,
    max_nodes: int = DEFAULT_MAX_PATH_NODES,
) -> PathNode:
    """Every decision the design can reach from ``outcomes`` in the next ``cohorts`` cohorts.

    If the cohort in progress is incomplete, the first step is its remaining patients. The tree
    is counted before it is built: more than ``max_nodes`` nodes raises `PathBudgetError`.
    """
    if isinstance(cohorts, bool) or not isinstance(cohorts, int) or cohorts < 0:
        raise ValueError(f"cohorts must be a whole number of at least 0, not {cohorts!r}")
    require_whole_number("cohorts", cohorts, minimum=0, maximum=MAX_COHORTS)
    history = parse_outcomes(outcomes) if isinstance(outcomes, str) else tuple(outcomes)
    root = recommend(design, history, strict=strict)
    state, _ = replay(design, history, strict=strict)
    nodes = _count(design, state, cohorts, {})
    if nodes > max_nodes:
        raise PathBudgetError(nodes, max_nodes)
    return _node(design, state, history, None, root, cohorts, root.warnings)


def _children(
    design: DoseFindingDesign, state: TrialState, decision: Decision
) -> Iterator[tuple[Cohort, TrialState]]:
    assert decision.next_dose is not None
    dose = decision.next_dose
    size = design.next_cohort_size(state, dose)
    for dlts in range(size + 1):
        cohort = Cohort(dose, (True,) * dlts + (False,) * (size - dlts))
        yield cohort, design.add_patients(state, dose, size, dlts)


def _count(
    design: DoseFindingDesign,
    state: TrialState,
    depth: int,
    known: dict[tuple[TrialState, int], int],
) -> int:
    """Nodes of the tree below ``state`` (itself included), with equal subtrees counted once."""
    key = (state, depth)
    if key not in known:
        decision = design.decide(state)
        nodes = 1
        if depth > 0 and decision.continue_trial:
            nodes += sum(
                _count(design, child, depth - 1, known)
                for _, child in _children(design, state, decision)
            )
        known[key] = nodes
    return known[key]


def _node(
    design: DoseFindingDesign,
    state: TrialState,
    history: tuple[Cohort, ...],
    cohort: Cohort | None,
    decision: Decision,
    depth: int,
    warnings: tuple[str, ...],
) -> PathNode:
    children: tuple[PathNode, ...] = ()
    if depth > 0 and decision.continue_trial:
        children = tuple(
            _node(
                design,
                child,
                (*history, next_cohort),
                next_cohort,
                _with_warnings(design.decide(child), warnings),
                depth - 1,
                warnings,
            )
            for next_cohort, child in _children(design, state, decision)
        )
    return PathNode(history=history, cohort=cohort, decision=decision, children=children)


def _with_warnings(decision: Decision, warnings: tuple[str, ...]) -> Decision:
    # A lax history's departures are in its prefix, which every node below it shares.
    return decision._replace(warnings=warnings) if warnings else decision
